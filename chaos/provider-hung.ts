import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSampleApi } from '../demo/api.ts';
import { DEMO_USER } from '../demo/op.ts';
import { generateKey } from '../src/crypto/keyring.ts';
import { startCli } from '../test/cli/run-cli.ts';
import { loginThroughGateway } from '../test/support/login.ts';
import { startProviderProcess } from '../test/support/provider-process.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { freePort } from '../test/support/ports.ts';
import { CSRF, recoveryMs, runLoad, summary } from './load.ts';
import type { Scenario, ScenarioResult } from './scenarios.ts';
import { sleep } from './stack.ts';

/**
 * The provider hung (SIGSTOP) across a refresh window: access tokens live 4 s, so every
 * session's token is due for refresh while the provider does not answer for 6 s. The upstream
 * accepts any bearer (it does not ask the stopped provider), so what the clients see is the
 * gateway's handling alone: the provider's timeout (2 s) bounds each request, a token still
 * valid is used, an expired one answers 503 TOKEN_SERVICE_UNAVAILABLE, no session is lost.
 */
export const providerHung: Scenario = {
  name: 'provider-hung',
  describe: 'the provider SIGSTOPped for 6 s across a refresh window (4 s access tokens, provider timeout 2 s)',
  async run({ quick }): Promise<ScenarioResult> {
    const dir = mkdtempSync(join(tmpdir(), 'tokengate-chaos-'));
    const cleanups: Array<() => Promise<unknown>> = [async () => rmSync(dir, { recursive: true, force: true })];
    try {
      const [mainPort, opsPort] = [await freePort(), await freePort()];
      const origin = `http://127.0.0.1:${mainPort}`;
      const clientSecret = generateKey();
      const provider = await startProviderProcess({
        accessTokenTtl: 4,
        clients: [{ clientId: 'tg', clientSecret, redirectUris: [`${origin}/auth/callback/op`] }],
      });
      cleanups.push(() => provider.close());
      const { issuer } = provider;
      const api = await startSampleApi({ introspect: async () => ({ active: true, sub: DEMO_USER.sub ?? 'demo-user', token_type: 'Bearer' }) });
      cleanups.push(() => api.close());
      const redis = await startRedisServer();
      cleanups.push(() => redis.stop());
      const config = join(dir, 'gateway.yaml');
      writeFileSync(
        config,
        `publicOrigin: ${origin}
listen: { host: 127.0.0.1, port: ${mainPort} }
ops: { host: 127.0.0.1, port: ${opsPort} }
store: { type: redis, redis: { url: "${redis.url}/0" } }
providers:
  - { id: op, type: oidc, issuer: ${issuer}, clientId: tg, timeout: 2s }
routes:
  - { prefix: /api, upstream: ${api.url}, stripPrefix: true }
logging: { level: info }
workers: 1
`,
      );
      const cli = startCli(['start', '--config', config], {
        env: { TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`, TOKENGATE_COOKIE_KEYS: generateKey(), TOKENGATE_PROVIDER_OP_CLIENT_SECRET: clientSecret },
      });
      cleanups.push(() => cli.stop('SIGKILL'));
      await cli.waitFor(/"event":"listening"/).catch((err: unknown) => {
        throw new Error(`the gateway did not start: ${String(err).slice(0, 600)}`);
      });
      const cookies: string[] = [];
      for (let index = 0; index < 4; index += 1) {
        const browser = await loginThroughGateway(`${origin}/auth/login?provider=op&returnTo=/`, { username: DEMO_USER.username, password: DEMO_USER.password });
        cookies.push(await browser.jar.getCookieString(origin));
      }
      const ok = (outcome: number | string) => outcome === 200;
      const duration = quick ? 12_000 : 16_000;
      const load = runLoad({ target: (n) => ({ url: `${origin}/api/who?n=${n}`, cookie: cookies[n % cookies.length]! }), concurrency: 8, maxMs: duration, timeoutMs: 15_000 });
      await sleep(2_500);
      const faultAt = performance.now();
      provider.pause();
      await sleep(6_000);
      provider.resume();
      const samples = await load;
      // Lost: the session answers 401 (a 503 only says the provider is still catching up).
      let lost = 0;
      for (const cookie of cookies) {
        let status = 503;
        for (let attempt = 0; attempt < 20 && status === 503; attempt += 1) {
          const res = await fetch(`${origin}/api/who`, { headers: { cookie, ...CSRF } });
          await res.arrayBuffer();
          status = res.status;
          if (status === 503) await sleep(500);
        }
        if (status !== 200) lost += 1;
      }
      const stats = await provider.stats();
      return summary('provider-hung', samples, ok, {
        recoverMs: recoveryMs(samples, ok, faultAt),
        sessionsLost: lost,
        refreshReused: stats.refreshReuse,
        notes: `stopped 6 s; refresh grants ${stats.refreshGrants}`,
      });
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  },
};
