import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApiHandle } from '../../demo/api.ts';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { runCli, startCli } from '../cli/run-cli.ts';
import { loginThroughGateway } from '../support/login.ts';
import { skipRedisSuite, startRedisServer } from '../support/redis-server.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

/** `tokengate dev` drains on Ctrl-C like `start`, and runs one process unless told otherwise. */

const clientSecret = generateKey();
let op: OpenIdProviderHandle;
let api: SampleApiHandle;
let port: number;

beforeAll(async () => {
  port = await freePort();
  op = await startOpenIdProvider({ clients: [{ clientId: 'dev-client', clientSecret, redirectUris: [`http://localhost:${port}/auth/callback/dev`] }] });
  api = await startSampleApi({ introspect: (token) => op.introspect(token) });
});

afterAll(async () => {
  await api?.close();
  await op?.close();
});

const devArgs = () => ['dev', '--upstream', api.url, '--issuer', op.issuer, '--client-id', 'dev-client', '--port', String(port)];
const env = () => ({ TOKENGATE_PROVIDER_DEV_CLIENT_SECRET: clientSecret });

describe('tokengate dev', () => {
  it('on Ctrl-C (SIGINT) lets an in-flight request finish, then exits 0', async () => {
    const dev = startCli(devArgs(), { env: env() });
    try {
      await dev.waitFor(/Ctrl-C stops/);
      const user = await loginThroughGateway(`http://localhost:${port}/auth/login?returnTo=%2F`, { username: DEMO_USER.username, password: DEMO_USER.password });
      const slow = user.request(`http://localhost:${port}/slow?ms=1500`);
      await waitFor('the slow request at the upstream', async () => api.requests.some((r) => r.path === '/slow' && r.sub !== undefined));
      dev.child.kill('SIGINT');
      expect((await slow).status).toBe(200);
      const result = await dev.exited;
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/event: "shutdown_started"/);
    } finally {
      await dev.stop('SIGKILL');
    }
  });

  it('--workers 2 without --redis is refused with exit 1, saying why', async () => {
    const result = await runCli([...devArgs(), '--workers', '2'], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('2 workers cannot share the memory store');
    expect(result.stderr).toContain('--redis URL');
  });
});

const skipRedis = skipRedisSuite('dev --workers on Redis', 'redis-server');

describe.skipIf(skipRedis)('tokengate dev --redis --workers 2', () => {
  it('every worker seals and signs with the keys generated at start, so one login works on all of them', async () => {
    const redis = await startRedisServer();
    const dev = startCli([...devArgs(), '--redis', redis.url, '--workers', '2'], { env: env() });
    try {
      await dev.waitFor(/Ctrl-C stops/);
      expect(dev.output().stdout.match(/Tokengate dev proxy for/g)).toHaveLength(1);
      const user = await loginThroughGateway(`http://localhost:${port}/auth/login?returnTo=%2F`, { username: DEMO_USER.username, password: DEMO_USER.password });
      api.requests.length = 0;
      // Each request on a fresh connection: node:cluster hands them to the workers in turn.
      for (let i = 0; i < 8; i += 1) {
        const res = await user.request(`http://localhost:${port}/who?i=${i}`);
        expect(res.status).toBe(200);
        expect(res.json<{ sub: string }>().sub).toBe(DEMO_USER.sub);
      }
      expect(api.requests.every((r) => r.hadAuthorization)).toBe(true);
      expect(dev.output().stdout.match(/event: "worker_listening"/g)).toHaveLength(2);
      expect((await dev.stop('SIGINT')).code).toBe(0);
    } finally {
      await dev.stop('SIGKILL');
      await redis.stop();
    }
  });
});
