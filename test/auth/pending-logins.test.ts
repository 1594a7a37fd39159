import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { createGateway, type Gateway, type ListeningGateway } from '../../src/app.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { loginThroughGateway } from '../support/login.ts';
import { rawCommand, skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { freePort } from '../support/ports.ts';

/**
 * A stranger's flood of anonymous GET /auth/login: each one would hold a login transaction in
 * the store for session.loginTimeout. The pending-login limits (login.maxPendingPerAddress,
 * login.maxPending) bound what the store holds, on both stores, and answer 429
 * TOO_MANY_PENDING_LOGINS with Retry-After past them.
 */

const PER_ADDRESS = 100;
const TOTAL = 1000;
const FLOOD = 2000;

interface Deployment {
  gateway: Gateway;
  listening: ListeningGateway;
  url: string;
  close(): Promise<void>;
}

async function startDeployment(
  op: OpenIdProviderHandle,
  clientSecret: string,
  port: number,
  store: { memory: MemoryStore } | { redis: RedisServer },
  trustedProxies: string[],
  perAddress = PER_ADDRESS,
): Promise<Deployment> {
  const config = configSchema.parse({
    publicOrigin: `http://127.0.0.1:${port}`,
    keys: { encryption: [{ kid: 'k1', key: randomBytes(32).toString('base64url') }], cookie: [randomBytes(32).toString('base64url')] },
    // A shared, loaded machine: the limits are under test here, not Redis latency.
    store: 'redis' in store ? { type: 'redis', redis: { url: store.redis.url, commandTimeout: '5s' } } : { type: 'memory' },
    providers: [{ id: 'op', type: 'oidc', issuer: op.issuer, clientId: 'tokengate', clientSecret, timeout: '2s' }],
    login: { maxPendingPerAddress: perAddress, maxPending: TOTAL },
    server: { trustedProxies },
    logging: { level: 'silent' },
  } satisfies ConfigInput);
  const gateway = createGateway(config, {
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }),
    ...('memory' in store ? { store: store.memory } : {}),
  });
  await gateway.start();
  const listening = await gateway.listen({ host: '127.0.0.1', port });
  return { gateway, listening, url: listening.url, close: () => gateway.close({ graceMs: 0 }) };
}

interface Tally {
  redirects: number;
  refused: number;
  codes: Set<string>;
  retryAfter: Set<string>;
  other: number[];
}

/** `count` logins, 8 at a time, each with the headers `headersOf(index)` gives. */
async function flood(url: string, count: number, headersOf: (index: number) => Record<string, string> = () => ({})): Promise<Tally> {
  const tally: Tally = { redirects: 0, refused: 0, codes: new Set(), retryAfter: new Set(), other: [] };
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const index = next++;
        const res = await fetch(`${url}/auth/login?provider=op`, { redirect: 'manual', headers: headersOf(index) });
        if (res.status === 302) tally.redirects += 1;
        else if (res.status === 429) {
          tally.refused += 1;
          tally.codes.add(((await res.json()) as { code: string }).code);
          tally.retryAfter.add(res.headers.get('retry-after') ?? 'none');
          continue;
        } else tally.other.push(res.status);
        await res.arrayBuffer();
      }
    }),
  );
  return tally;
}

const skipRedis = skipRedisSuite('pending-login limits on Redis', 'redis-server');

describe.each([
  ['memory', false],
  ['redis', skipRedis],
] as const)('a flood of %s logins', (kind, skip) => {
  let op: OpenIdProviderHandle;
  let redis: RedisServer | undefined;
  let memory: MemoryStore | undefined;
  let direct: Deployment;
  const clientSecret = randomBytes(24).toString('base64url');

  beforeAll(async () => {
    if (skip) return;
    const port = await freePort();
    op = await startOpenIdProvider({ clients: [{ clientId: 'tokengate', clientSecret, redirectUris: [`http://127.0.0.1:${port}/auth/callback/op`] }] });
    if (kind === 'redis') redis = await startRedisServer();
    else memory = new MemoryStore();
    direct = await startDeployment(op, clientSecret, port, redis ? { redis } : { memory: memory! }, ['127.0.0.1']);
  }, 60_000);

  afterAll(async () => {
    await direct?.close();
    await memory?.close();
    await redis?.stop();
    await op?.close();
  });

  /** Login transactions the store holds. */
  async function transactionsHeld(): Promise<number> {
    if (memory) return memory.size;
    const reply = await rawCommand(redis!.port, ['EVAL', "return #redis.call('KEYS', ARGV[1])", '0', '*eph:login:*']);
    return Number(/^:(\d+)/.exec(reply)?.[1] ?? Number.NaN);
  }

  it.skipIf(skip)(`${FLOOD} logins from one address: ${PER_ADDRESS} start, the rest are 429 TOO_MANY_PENDING_LOGINS with Retry-After, the store holds ${PER_ADDRESS}`, async () => {
    const tally = await flood(direct.url, FLOOD);
    expect(tally.other).toEqual([]);
    expect(tally.redirects).toBe(PER_ADDRESS);
    expect(tally.refused).toBe(FLOOD - PER_ADDRESS);
    expect([...tally.codes]).toEqual(['TOO_MANY_PENDING_LOGINS']);
    for (const value of tally.retryAfter) expect(Number(value)).toBeGreaterThan(0);
    expect(await transactionsHeld()).toBe(PER_ADDRESS);
  }, 60_000);

  it.skipIf(skip)(`${FLOOD} logins from ${FLOOD} addresses (X-Forwarded-For from a trusted proxy): the total limit holds the store at ${TOTAL}`, async () => {
    const tally = await flood(direct.url, FLOOD, (index) => ({ 'x-forwarded-for': `10.1.${index >> 8}.${index & 255}` }));
    expect(tally.other).toEqual([]);
    expect(tally.redirects).toBe(TOTAL - PER_ADDRESS);
    expect([...tally.codes]).toEqual(['TOO_MANY_PENDING_LOGINS']);
    expect(await transactionsHeld()).toBe(TOTAL);
  }, 60_000);
});

describe('X-Forwarded-For counts only behind a trusted proxy; a completed login stops counting', () => {
  let op: OpenIdProviderHandle;
  const memories: MemoryStore[] = [];
  const deployments: Deployment[] = [];
  const clientSecret = randomBytes(24).toString('base64url');
  const ports: number[] = [];

  beforeAll(async () => {
    ports.push(await freePort(), await freePort());
    op = await startOpenIdProvider({ clients: [{ clientId: 'tokengate', clientSecret, redirectUris: ports.map((port) => `http://127.0.0.1:${port}/auth/callback/op`) }] });
    for (const [index, port] of ports.entries()) {
      const memory = new MemoryStore();
      memories.push(memory);
      deployments.push(await startDeployment(op, clientSecret, port, { memory }, [], index === 0 ? PER_ADDRESS : 2));
    }
  }, 60_000);

  afterAll(async () => {
    for (const deployment of deployments) await deployment.close();
    for (const memory of memories) await memory.close();
    await op?.close();
  });

  it('X-Forwarded-For from an untrusted peer is ignored: varying it does not get past the per-address limit', async () => {
    const tally = await flood(deployments[0]!.url, PER_ADDRESS + 50, (index) => ({ 'x-forwarded-for': `10.2.0.${index & 255}` }));
    expect(tally.redirects).toBe(PER_ADDRESS);
    expect(tally.refused).toBe(50);
  });

  it('with a limit of 2 per address: a login that completes at the callback frees its place', async () => {
    const url = deployments[1]!.url;
    const login = await loginThroughGateway(`${url}/auth/login?provider=op&returnTo=/`, { username: DEMO_USER.username, password: DEMO_USER.password });
    expect((await login.request(`${url}/auth/session`)).status).toBe(200);
    const tally = await flood(url, 3);
    expect(tally.redirects).toBe(2);
    expect(tally.refused).toBe(1);
  });
});
