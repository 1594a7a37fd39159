import { createGateway, type Gateway, type GatewayDeps } from '../../../src/app.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import type { ConfigInput } from '../../../src/config/schema.ts';
import { BrowserClient } from '../../support/http.ts';
import { closeServer, gatewayConfig, reserveServer } from './config.ts';
import { LeakWatch } from './leak-watch.ts';
import { testLogger } from './logger.ts';

/** A gateway on 127.0.0.1:0 whose log lines and responses a LeakWatch records. */
export interface GatewayFixture {
  gateway: Gateway;
  origin: string;
  watch: LeakWatch;
  /** Starts a login in `client` and returns the provider URL it was sent to. */
  beginLogin(client: BrowserClient, providerId: string, returnTo?: string): Promise<URL>;
  sidOf(client: BrowserClient): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function startGatewayFixture(
  input: Omit<ConfigInput, 'keys' | 'publicOrigin'>,
  deps: Omit<GatewayDeps, 'logger'> = {},
): Promise<GatewayFixture> {
  const { server, origin } = await reserveServer();
  const config = gatewayConfig({ ...input, publicOrigin: origin, logging: { level: 'debug' } });
  const watch = new LeakWatch();
  const gateway = createGateway(config, { revocation: { attempts: 3, retryDelayMs: () => 20 }, ...deps, logger: testLogger(watch, 'debug'), metrics: createMetrics({ defaultMetrics: false }) });
  await gateway.start();
  server.on('request', watch.tap(gateway.callback()));
  return {
    gateway,
    origin,
    watch,
    async beginLogin(client, providerId, returnTo = '/') {
      const response = await client.request(`${origin}/auth/login?provider=${providerId}&returnTo=${encodeURIComponent(returnTo)}`);
      if (response.status !== 302 || response.location === undefined) throw new Error(`login did not redirect: ${response.status} ${response.text}`);
      return new URL(response.location);
    },
    async sidOf(client) {
      const cookies = await client.jar.getCookies(origin);
      return cookies.find((cookie) => cookie.key === config.session.cookieName)?.value;
    },
    async close() {
      await gateway.close();
      await closeServer(server);
    },
  };
}
