import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { createGateway, type Gateway } from '../../../src/app.ts';
import { startOpenIdProvider, type OpenIdClientOptions, type OpenIdProviderHandle, type OpenIdProviderOptions } from '../../../demo/op.ts';
import type { ConfigInput } from '../../../src/config/schema.ts';
import { BrowserClient } from '../../support/http.ts';
import { loginThroughGateway, type LoginResult } from '../../support/login.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { createStore } from '../../../src/store/index.ts';
import type { Store } from '../../../src/store/types.ts';
import { closeServer, gatewayConfig, reserveServer } from './config.ts';
import { LeakWatch } from './leak-watch.ts';
import { testLogger } from './logger.ts';

/**
 * One gateway in front of the real OpenID Provider (demo/op.ts, the `oidc-provider` package)
 * with refresh-token rotation, introspection, revocation and back-channel logout, on a real
 * Redis or on the memory store. The provider's back-channel logout calls pass through a relay
 * that records each logout token, so a test can replay one.
 */

export const PROVIDER_ID = 'corp';
export const DEMO = { username: 'demo', password: 'demo' };

export interface OidcFixture {
  op: OpenIdProviderHandle;
  gateway: Gateway;
  origin: string;
  watch: LeakWatch;
  /** Logout tokens the provider sent, in order. */
  logoutTokens: string[];
  login(returnTo?: string): Promise<LoginResult>;
  /** The gateway sid in this browser's session cookie. */
  sidOf(client: BrowserClient): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface OidcFixtureOptions {
  store: 'redis' | 'memory';
  /**
   * The gateway's host name (default 127.0.0.1, the provider's own). `localhost` puts the
   * gateway on another site than the provider, as in production: the provider's redirect to the
   * callback is then cross-site and carries no SameSite=Strict cookie.
   */
  publicHost?: '127.0.0.1' | 'localhost';
  /** Extra settings of the gateway's provider entry (e.g. trustedAudiences). */
  provider?: Record<string, unknown>;
  /** Extra options of the provider itself (signing keys, middleware). */
  opOptions?: Omit<OpenIdProviderOptions, 'clients'>;
  /** Extra registration settings of the gateway at the provider. */
  opClient?: Partial<OpenIdClientOptions>;
  /** Wraps the gateway's store (fault injection); the fixture still closes the store it made. */
  wrapStore?: (store: Store) => Store;
}

export async function startOidcFixture(options: OidcFixtureOptions): Promise<OidcFixture> {
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const redis: RedisServer | undefined = options.store === 'redis' ? await startRedisServer() : undefined;
    if (redis) cleanups.push(() => redis.stop());
    const reserved = await reserveServer();
    const { server } = reserved;
    const origin = options.publicHost === 'localhost' ? reserved.origin.replace('//127.0.0.1:', '//localhost:') : reserved.origin;
    cleanups.push(() => closeServer(server));
    const logoutTokens: string[] = [];
    const relay = await startRelay(`${origin}/auth/backchannel-logout/${PROVIDER_ID}`, logoutTokens);
    cleanups.push(() => closeServer(relay.server));

    const client = { clientId: 'tokengate', clientSecret: 'tokengate-test-secret-0123456789' };
    const op = await startOpenIdProvider({
      ...options.opOptions,
      clients: [
        {
          ...client,
          redirectUris: [`${origin}/auth/callback/${PROVIDER_ID}`],
          postLogoutRedirectUris: [`${origin}/`],
          backchannelLogoutUri: relay.url,
          ...options.opClient,
        },
      ],
    });
    cleanups.push(() => op.close());

    const store: ConfigInput['store'] = redis ? { type: 'redis', redis: { url: redis.url } } : { type: 'memory' };
    const config = gatewayConfig({
      publicOrigin: origin,
      store,
      providers: [{ id: PROVIDER_ID, type: 'oidc', issuer: op.issuer, ...client, ...options.provider } as NonNullable<ConfigInput['providers']>[number]],
      logging: { level: 'debug' },
    });
    const watch = new LeakWatch();
    let wrapped: Store | undefined;
    if (options.wrapStore) {
      const inner = createStore(config.store, { now: Date.now });
      cleanups.push(() => inner.close());
      wrapped = options.wrapStore(inner);
    }
    const gateway = createGateway(config, { ...(wrapped ? { store: wrapped } : {}), logger: testLogger(watch, 'debug'), metrics: createMetrics({ defaultMetrics: false }), revocation: { attempts: 3, retryDelayMs: () => 50 } });
    cleanups.push(() => gateway.close());
    await gateway.start();
    server.on('request', watch.tap(gateway.callback()));

    return {
      op,
      gateway,
      origin,
      watch,
      logoutTokens,
      login: (returnTo = '/') => loginThroughGateway(`${origin}/auth/login?provider=${PROVIDER_ID}&returnTo=${encodeURIComponent(returnTo)}`, DEMO),
      async sidOf(browser) {
        const cookies = await browser.jar.getCookies(origin);
        return cookies.find((cookie) => cookie.key === config.session.cookieName)?.value;
      },
      close: () => runCleanups(cleanups),
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

async function runCleanups(cleanups: Array<() => Promise<void>>): Promise<void> {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}

/** Forwards POSTs to `target` and records each `logout_token` on the way. */
async function startRelay(target: string, recorded: string[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const token = new URLSearchParams(body.toString('utf8')).get('logout_token');
      if (token) recorded.push(token);
      fetch(target, { method: 'POST', headers: { 'content-type': String(req.headers['content-type'] ?? '') }, body })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
          res.end(await answer.text());
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel` };
}
