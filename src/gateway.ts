import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Revoker, RevokerOptions } from './auth/revoker.ts';
import type { Config, ProviderConfig } from './config/schema.ts';
import type { Keyring } from './crypto/keyring.ts';
import type { Metrics, Readiness } from './observability/index.ts';
import type { Provider } from './providers/types.ts';
import type { ListenerName, ListenerSpec } from './runtime/listen.ts';
import type { ServedGateway } from './runtime/serve.ts';
import type { CookieKeys } from './session/cookie-keys.ts';
import type { GatewayCookies } from './session/cookies.ts';
import type { Store } from './store/types.ts';
import type { TokenService } from './tokens/index.ts';

/** What `createGateway` (app.ts, the composition root) takes and what it returns. */

export interface GatewayDeps {
  /** A store to use instead of the one config names; the caller closes it. */
  store?: Store;
  /** Providers to use instead of building them from config. */
  providers?: Map<string, Provider>;
  logger?: Logger;
  /** Tests that build many gateways pass `createMetrics({ defaultMetrics: false })`. */
  metrics?: Metrics;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Background revocation retries (tests shorten the delays). */
  revocation?: Omit<RevokerOptions, 'logger'>;
}

export interface ListeningGateway {
  /** `http://host:port` */
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface Gateway extends ServedGateway {
  readonly app: Koa;
  readonly config: Config;
  readonly store: Store;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly keyring: Keyring;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Readiness probe: the store answers, every provider's discovery has loaded, not draining. */
  readonly readiness: Readiness;
  /** The operations app (/metrics, /healthz, /readyz) for the `ops` listener. */
  readonly ops: Koa;
  readonly cookies: GatewayCookies;
  /** The cookie signing keys every cookie uses; a key reload swaps them (src/runtime/key-reload.ts). */
  readonly cookieKeys: CookieKeys;
  /** Key reload: replaces the forward-auth shared secret (false when none was configured at start). */
  setForwardAuthSecret(value: string): boolean;
  /**
   * Key reload: a provider built anew from `provider` (a new client secret or private key), its
   * discovery loaded (a failure is logged and retried on first use), then swapped in by id; calls
   * under way finish with the previous one. False when the providers were injected (GatewayDeps).
   */
  replaceProvider(provider: ProviderConfig): Promise<boolean>;
  readonly revoker: Revoker;
  /**
   * The only code that refreshes tokens, and that writes every token set after the first (login
   * writes that one with the new session).
   */
  readonly tokens: TokenService;
  /** The store client's last connection-level error (refused, reset, a failed AUTH or SELECT), if any. */
  lastStoreConnectionError(): Error | undefined;
  /** Provider discovery. A provider that cannot be reached is retried on its first use. */
  start(): Promise<void>;
  /** A request listener for any `node:http` server (or a mount inside another Koa app). */
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  /** WebSocket handshakes on proxied routes, for a server's 'upgrade' event (`listen` wires it itself). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * The listeners this gateway wants: `main` (config.listen), `ops` (config.ops) and, when
   * forward-auth is enabled with its own listener, `forward-auth` (forwardAuth.listen).
   */
  readonly listeners: readonly ListenerSpec[];
  /**
   * Binds one of `listeners` (default `main`) on its configured address, or the given host/port
   * (port 0 picks a free one), under `close`'s graceful shutdown.
   */
  listen(options?: { listener?: ListenerName; host?: string; port?: number }): Promise<ListeningGateway>;
  /** Puts a server of this gateway under `close`'s graceful shutdown (`keep`: not drained, closed last, as ops). */
  attach(server: Server, options?: { keep?: boolean }): void;
  /**
   * Graceful shutdown (src/runtime/shutdown.ts): readiness turns not-ready; for
   * `shutdown.drainDelay` the listeners keep accepting and every response carries
   * `Connection: close`; then they stop accepting connections (idle keep-alive ones are closed);
   * in-flight requests and refreshes may finish for up to `graceMs` (default
   * `config.shutdown.grace`); then what is left is cut off, refresh locks still held are
   * released, revocations are given what remains of the grace period, the store is closed if the
   * gateway built it, and last the listeners attached with `keep`. `reason` is logged. Calling
   * it again returns the same promise.
   */
  close(options?: { graceMs?: number; reason?: string }): Promise<void>;
}
