import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Middleware } from 'koa';
import type { CanonicalOriginOptions } from '../http/canonical-origin.ts';
import { csrfOptionsFrom, csrfPolicy } from '../http/csrf.ts';
import type { Metrics } from '../observability/index.ts';
import { DpopNonces } from '../dpop/nonces.ts';
import { NotFoundError } from '../errors.ts';
import { authorizeStep } from './attach-token.ts';
import type { ForwardingEngine } from './engine.ts';
import { forwardStep } from './forward-step.ts';
import { Forwarder } from './forwarder.ts';
import { HeaderPolicy } from './headers.ts';
import { proxiedRouteHandler } from './proxied-route-handler.ts';
import { ReplayBudget } from './replay-budget.ts';
import { RouteTable } from './route-table.ts';
import { sessionStep, type SessionStepOptions } from './session-step.ts';
import { UndiciEngine } from './undici-engine.ts';
import { UpstreamAgents } from './upstream-agents.ts';
import type { Tunnels } from './tunnels.ts';
import { type UpgradeSessionReader, upgradeHandler } from './upgrade.ts';
import type { ProxyOptions } from './types.ts';

/**
 * The reverse proxy, built from `config.routes`:
 *
 * - `handle(req, res)`: the proxied-route handler (see proxied-route-handler.ts), tried before
 *   the Koa app; it returns false for anything that is not a proxied route.
 * - `unrouted`: the Koa app's last middleware: 400 for a path the route table rejects, else 404.
 * - `handleUpgrade`: the same for WebSocket handshakes (wire it to the server's 'upgrade' event).
 *
 * At shutdown, `dropUpgrades()` ends the WebSocket tunnels (a server cannot finish closing while
 * they are open) and, once the server is closed, `close()` destroys the upstream connections.
 */

export interface GatewayProxy {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  unrouted: Middleware;
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Closes every proxied WebSocket (and handshake in progress). */
  dropUpgrades(): void;
  /** The label of the route a request target (`/path?query`) is for; undefined when none (or a bad path). */
  routeName(target: string): string | undefined;
  /** dropUpgrades, then destroys the upstream connections. */
  close(): Promise<void>;
}

export interface CreateProxyOptions extends ProxyOptions {
  /** How a request finds its session (cookie, store, idle timeout). */
  sessions: SessionStepOptions;
  /** How a WebSocket handshake finds its session; without it, handshakes are anonymous. */
  upgradeSessions?: UpgradeSessionReader;
  /** The canonical-origin rule the Koa app applies too (src/http/canonical-origin.ts). */
  canonical: CanonicalOriginOptions;
  /** Paths the Koa app serves even under a route's prefix (`/auth/*`, the verify path). */
  gatewayOwns(path: string): boolean;
  metrics?: ProxyOptions['metrics'] & Pick<Metrics, 'countRequest'>;
  /** The open WebSocket tunnels by session, closed when their session ends (tunnels.ts). */
  tunnels: Tunnels;
  now: () => number;
}

export function createProxy(options: CreateProxyOptions): GatewayProxy {
  const { config, tokens, logger, metrics } = options;
  const publicOrigin = new URL(config.publicOrigin);
  const table = new RouteTable(config.routes);
  // The forward-auth shared secret never reaches an upstream (an ingress may add it to every request).
  const secretHeader = config.forwardAuth.sharedSecret === undefined ? [] : [config.forwardAuth.secretHeader];
  const headers = new HeaderPolicy({ cookieName: config.session.cookieName, csrfHeader: config.csrf.header, stripHeaders: [...config.proxy.stripHeaders, ...secretHeader] });
  const agents = new UpstreamAgents();
  const forwarder = new Forwarder(agents, logger);
  const engine: ForwardingEngine = new UndiciEngine();
  const sockets = new Set<Socket>();
  // Both handlers ask with the request target; the gateway's own paths are decided on its path.
  const gatewayOwnsTarget = (target: string): boolean => {
    const queryAt = target.indexOf('?');
    return options.gatewayOwns(queryAt === -1 ? target : target.slice(0, queryAt));
  };
  // One Origin allow-list for HTTP requests and WebSocket handshakes.
  const csrf = csrfPolicy(csrfOptionsFrom(config));
  // The upstreams' DPoP nonces by origin (RFC 9449 section 9): one map for requests and handshakes.
  const nonces = new DpopNonces();

  const handle = proxiedRouteHandler({
    table,
    gatewayOwnsTarget,
    steps: {
      loadSession: sessionStep(options.sessions),
      csrf,
      canonical: options.canonical,
      authorize: authorizeStep(tokens),
      forward: forwardStep({
        engine,
        headers,
        tokens,
        publicOrigin,
        metrics,
        budget: new ReplayBudget(config.proxy.replayBudget),
        bodyIdleTimeoutMs: config.proxy.bodyIdleTimeout,
        nonces,
      }),
    },
    logger,
    metrics,
  });

  const handleUpgrade = upgradeHandler({
    table,
    gatewayOwnsTarget,
    headers,
    tokens,
    forwarder,
    publicOrigin,
    allowedOrigins: csrf.origins,
    sessions: options.upgradeSessions,
    logger,
    sockets,
    maxPerSession: config.proxy.maxWebSocketsPerSession,
    tunnels: options.tunnels,
    nonces,
    now: options.now,
  });

  const dropUpgrades = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    handle,
    async unrouted(ctx) {
      table.match(ctx.url);
      throw new NotFoundError();
    },
    handleUpgrade,
    dropUpgrades,
    routeName(target) {
      try {
        return table.match(target)?.route.name;
      } catch {
        // A path the route table rejects (400) has no route.
        return undefined;
      }
    },
    async close() {
      dropUpgrades();
      options.tunnels.close();
      agents.close();
      await engine.close();
    },
  };
}
