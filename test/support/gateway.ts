import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { startSampleApi, type SampleApiHandle } from '../../demo/api.ts';
import { DEMO_USER, startOpenIdProvider, type IntrospectionResponse, type OpenIdProviderHandle, type OpenIdProviderOptions } from '../../demo/op.ts';
import { createGateway, type Gateway, type ListeningGateway } from '../../src/app.ts';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.ts';
import { createLogger } from '../../src/observability/index.ts';
import { loginThroughGateway, type LoginResult } from './login.ts';
import { onFreePorts } from './ports.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

/**
 * A whole Tokengate deployment for integration tests, every part real and on 127.0.0.1:
 * the demo OpenID Provider (oidc-provider, rotation and introspection on), the sample API that
 * introspects each bearer at that provider, optionally a redis-server, and one or more gateway
 * instances built by `createGateway` (each with its own store client, like replicas). Every log
 * line of every instance is captured (level debug) for leak checks.
 */

export const PROVIDER_ID = 'op';

/** What the stack needs of a provider: the in-process demo provider, or one in a child process (provider-process.ts). */
export interface StackProvider {
  readonly issuer: string;
  introspect(token: string): Promise<IntrospectionResponse>;
  close(): Promise<void>;
}

export interface GatewayStackOptions<P extends StackProvider = OpenIdProviderHandle> {
  /** Starts the provider; default the in-process demo provider (`startOpenIdProvider`). */
  startProvider?: (options: OpenIdProviderOptions) => Promise<P>;
  /** The gateway's provider timeout. Default '2s'. */
  providerTimeout?: string;
  /** Access-token lifetime at the provider, seconds. Default 3600. */
  accessTokenTtl?: number;
  tokenEndpointDelayMs?: number;
  /** 'redis' starts a redis-server (or uses `redis`). Default 'memory' (one instance only). */
  store?: 'memory' | 'redis';
  redis?: RedisServer;
  /** Gateway instances sharing the store. Default 1. */
  instances?: number;
  /** Providers besides the demo provider `op` (routes may name them). */
  extraProviders?: NonNullable<ConfigInput['providers']>;
  /** Routes; default one `/api` route (auth required) to the sample API. */
  routes?: (upstreams: { api: string }) => NonNullable<ConfigInput['routes']>;
  tokens?: ConfigInput['tokens'];
  /** Proxy settings (header strip list, body limits, WebSocket cap). */
  proxy?: ConfigInput['proxy'];
  /** Session settings (timeouts, pending-login cap). */
  session?: ConfigInput['session'];
  /** Forward-auth settings (off by default). */
  forwardAuth?: ConfigInput['forwardAuth'];
  /** The gateways' clock (token expiry decisions, session times). */
  now?: () => number;
  /** Redis command timeout. Default '1s'. */
  redisCommandTimeout?: string;
  /** The Redis store's near cache (default on, as in production). */
  nearCache?: boolean;
  /** The Redis store's `replicationWait` (default: the schema's). */
  redisReplicationWait?: { replicas?: number; timeout?: string };
  /** More options of the provider (resource servers, token exchange). */
  opOptions?: Pick<OpenIdProviderOptions, 'resourceServers' | 'tokenExchange'>;
  /** More settings of the gateway's provider entry (scopes). */
  provider?: Record<string, unknown>;
  /**
   * DPoP (RFC 9449): the provider issues the gateway only DPoP-bound tokens, the gateway's
   * provider says `dpop: true`, the sample API checks every proof. `providerNonce` / `apiNonce`:
   * proofs must carry that server's nonce.
   */
  dpop?: { providerNonce?: boolean; apiNonce?: boolean };
}

export interface GatewayInstance {
  gateway: Gateway;
  listening: ListeningGateway;
  url: string;
}

export interface GatewayStack<P extends StackProvider = OpenIdProviderHandle> {
  op: P;
  api: SampleApiHandle;
  redis: RedisServer | undefined;
  config: Config;
  instances: GatewayInstance[];
  /** Instance 0. */
  url: string;
  /** Every captured log line of every gateway instance. */
  logLines: string[];
  /** Logs the demo user in through instance 0 (a fresh cookie jar). */
  login(): Promise<LoginResult>;
  close(): Promise<void>;
}

export async function startGatewayStack<P extends StackProvider = OpenIdProviderHandle>(options: GatewayStackOptions<P> = {}): Promise<GatewayStack<P>> {
  const count = options.instances ?? 1;
  if ((options.store ?? 'memory') === 'memory' && count > 1) throw new Error('several instances need store: redis');
  // The ports are in the public origin, registered at the provider before the gateways listen.
  return onFreePorts(count, (ports) => startGatewayStackOn(ports, options));
}

async function startGatewayStackOn<P extends StackProvider>(ports: number[], options: GatewayStackOptions<P>): Promise<GatewayStack<P>> {
  const storeKind = options.store ?? 'memory';
  const publicOrigin = `http://127.0.0.1:${ports[0]}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };

  try {
    const opOptions: OpenIdProviderOptions = {
      accessTokenTtl: options.accessTokenTtl ?? 3600,
      tokenEndpointDelayMs: options.tokenEndpointDelayMs ?? 0,
      ...options.opOptions,
      clients: [{ clientId: 'tokengate', clientSecret, redirectUris: [`${publicOrigin}/auth/callback/${PROVIDER_ID}`], ...(options.dpop ? { dpopBoundAccessTokens: true } : {}) }],
      ...(options.dpop ? { dpop: { requireNonce: options.dpop.providerNonce ?? false } } : {}),
    };
    const op = options.startProvider ? await options.startProvider(opOptions) : ((await startOpenIdProvider(opOptions)) as unknown as P);
    cleanups.push(() => op.close());
    const api = await startSampleApi({ introspect: (token) => op.introspect(token), ...(options.dpop ? { dpop: { requireNonce: options.dpop.apiNonce ?? false } } : {}) });
    cleanups.push(() => api.close());
    let redis = options.redis;
    if (storeKind === 'redis' && redis === undefined) {
      const started = await startRedisServer();
      redis = started;
      cleanups.push(() => started.stop());
    }

    const config = configSchema.parse({
      publicOrigin,
      keys: {
        encryption: [{ kid: 'k1', key: randomBytes(32).toString('base64url') }],
        cookie: [randomBytes(32).toString('base64url')],
      },
      store: storeKind === 'redis' ? { type: 'redis', redis: { url: redis!.url, commandTimeout: options.redisCommandTimeout ?? '1s', nearCache: { enabled: options.nearCache ?? true }, ...(options.redisReplicationWait ? { replicationWait: options.redisReplicationWait } : {}) } } : { type: 'memory' },
      providers: [{ id: PROVIDER_ID, type: 'oidc', issuer: op.issuer, clientId: 'tokengate', clientSecret, timeout: options.providerTimeout ?? '2s', ...(options.dpop ? { dpop: true } : {}), ...options.provider } as NonNullable<ConfigInput['providers']>[number], ...(options.extraProviders ?? [])],
      routes: options.routes?.({ api: api.url }) ?? [{ prefix: '/api', upstream: api.url }],
      tokens: options.tokens ?? {},
      proxy: options.proxy ?? {},
      session: options.session ?? {},
      forwardAuth: options.forwardAuth ?? {},
      logging: { level: 'debug' },
    } satisfies ConfigInput);

    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination: sink });
    const instances: GatewayInstance[] = [];
    for (const port of ports) {
      const gateway = createGateway(config, { logger, ...(options.now ? { now: options.now } : {}) });
      cleanups.push(() => gateway.close());
      await gateway.start();
      const listening = await gateway.listen({ host: '127.0.0.1', port });
      instances.push({ gateway, listening, url: listening.url });
    }

    return {
      op,
      api,
      redis,
      config,
      instances,
      url: instances[0]!.url,
      logLines,
      login: () => loginThroughGateway(`${publicOrigin}/auth/login?provider=${PROVIDER_ID}&returnTo=/`, { username: DEMO_USER.username, password: DEMO_USER.password }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
