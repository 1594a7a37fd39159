import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack, type GatewayStackOptions } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { holdBack, skipRedisSuite, startMasterWithReplica, type RedisServer } from '../support/redis-server.ts';
import { sleep } from '../store/redis-config.ts';
import { manualClock } from '../tokens/fixture.ts';
import { startRouteTokenUpstream, type RouteTokenUpstream } from './route-token-upstream.ts';
import { sidOf } from './session-tokens.ts';

/**
 * A renewal of an API token on a Redis master with one replica (store.redis.replicationWait on),
 * through a gateway against the real provider (resource indicators and a token-exchange grant).
 * A resource token's renewal spends the login grant's refresh token: when the replica does not
 * confirm the token set that holds its successor, the session's refresh lock stays parked for one
 * lease instead of being released; so it does when that write failed after the provider had
 * answered (its outcome is unknown). An exchange spends no refresh token: its lock is released.
 * Login tokens live an hour, API tokens 10 minutes; the gateway's clock is moved by hand.
 */

const MINUTE = 60_000;
const LEASE_MS = 2_000;
const ORDERS = 'https://orders.example.test';
const REPORTS = 'https://reports.example.test';
const skip = skipRedisSuite('API token renewals with a replicated Redis', 'redis-server');

describe.skipIf(skip)('an API token renewal whose write the replica has not confirmed', () => {
  const clock = manualClock();
  let master: RedisServer;
  let replica: RedisServer;
  let stack: GatewayStack;
  let upstream: RouteTokenUpstream;

  beforeAll(async () => {
    ({ master, replica } = await startMasterWithReplica());
    upstream = await startRouteTokenUpstream();
    // A 1 s wait: on a loaded machine a replica that is not held back can take longer than 300 ms.
    stack = await startOnMaster({ redisCommandTimeout: '3s', redisReplicationWait: { replicas: 1, timeout: '1s' } });
  }, 30_000);

  /** A gateway (its own provider) on the master: `/orders` names its resource, `/reports` exchanges the login's token. */
  const startOnMaster = (options: Pick<GatewayStackOptions, 'redisCommandTimeout' | 'redisReplicationWait'>) =>
    startGatewayStack({
      ...options,
      accessTokenTtl: 3600,
      store: 'redis',
      redis: master,
      now: clock.now,
      tokens: { lockLease: `${LEASE_MS}ms` },
      opOptions: {
        resourceServers: { [ORDERS]: { scope: 'orders', accessTokenTtl: 600 }, [REPORTS]: { scope: 'reports', accessTokenTtl: 600 } },
        tokenExchange: true,
      },
      provider: { scopes: ['openid', 'profile', 'email', 'offline_access', 'orders'] },
      routes: () => [
        { prefix: '/orders', upstream: upstream.url, resource: ORDERS },
        { prefix: '/reports', upstream: upstream.url, exchange: { audience: REPORTS, scope: 'reports' } },
      ],
    });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
    await replica?.stop();
    await master?.stop();
  });

  beforeEach(() => {
    clock.set(Date.now());
    stack.op.resetStats();
    upstream.seen.length = 0;
  });

  /** Whether someone holds the session's refresh lock (probed by taking it for a moment). */
  const lockHeld = async (sid: string) => {
    const { store } = stack.instances[0]!.gateway;
    if (!(await store.acquireLock(sid, 'probe', 50))) return true;
    await store.releaseLock(sid, 'probe');
    return false;
  };

  /** Token-set writes the replica did not confirm so far (the gateway's counter). */
  const unconfirmed = async () =>
    (await stack.instances[0]!.gateway.metrics.storeUnreplicatedWrites.get()).values.find((v) => v.labels.outcome === 'unconfirmed' && v.labels.op === 'compareAndSetTokens')?.value ?? 0;

  /**
   * A session whose token for `prefix` was obtained, then expired: the next request there renews
   * it (with the replica held back while it does, if `replicaHeldBack`). The lock, probed at once.
   */
  async function renewAt(prefix: '/orders' | '/reports', replicaHeldBack: boolean) {
    const browser: LoginResult = await stack.login();
    const sid = await sidOf(browser, stack);
    expect((await browser.request(`${stack.url}${prefix}/first`)).status).toBe(200);
    expect(await lockHeld(sid)).toBe(false);
    clock.advance(11 * MINUTE);
    const before = await unconfirmed();
    const held = replicaHeldBack ? await holdBack(replica, 2) : undefined;
    const renewed = await browser.request(`${stack.url}${prefix}/renewed`);
    const locked = await lockHeld(sid);
    await held?.resumed;
    // The renewal's write was unconfirmed exactly when the replica was held back.
    expect((await unconfirmed()) > before).toBe(replicaHeldBack);
    const [first, second] = [...upstream.seen.filter((seen) => seen.path === `${prefix}/first`), ...upstream.seen.filter((seen) => seen.path === `${prefix}/renewed`)].map((seen) => seen.token);
    expect(renewed.status).toBe(200);
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
    return { sid, locked };
  }

  it('a resource token renewal: the new token is used, and the lock stays held for one lease', async () => {
    const { sid, locked } = await renewAt('/orders', true);
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 2 });
    expect(locked).toBe(true);
    await expect.poll(() => lockHeld(sid), { timeout: LEASE_MS + 1_000, interval: 100 }).toBe(false);
  });

  it('a resource token renewal the replica confirmed: the lock is released at once', async () => {
    const { locked } = await renewAt('/orders', false);
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 2 });
    expect(locked).toBe(false);
  });

  it('a resource token renewal whose write failed after the provider answered: 503, and the lock stays held', async () => {
    // A second gateway on the master whose writes fail after 300 + 200 ms; the master pauses every
    // write for longer, from inside the provider call.
    const failing = await startOnMaster({ redisCommandTimeout: '300ms', redisReplicationWait: { replicas: 1, timeout: '200ms' } });
    const admin = new Redis(master.url);
    try {
      const browser = await failing.login();
      expect((await browser.request(`${failing.url}/orders/first`)).status).toBe(200);
      clock.advance(11 * MINUTE);
      failing.op.setTokenEndpointDelay(300);
      const attempt = browser.request(`${failing.url}/orders/renewed`);
      await sleep(150);
      await admin.call('CLIENT', 'PAUSE', '1200', 'WRITE');
      const answer = await attempt;
      expect(answer.status).toBe(503);
      expect(failing.op.stats.resourceGrants).toEqual({ [ORDERS]: 2 });
      // Once the pause is over, the writes queued behind it run: the lock renewal of the park,
      // or the release that would let another request send the redeemed refresh token.
      await sleep(1_500);
      expect(await lockHeld(await sidOf(browser, failing))).toBe(true);
    } finally {
      failing.op.setTokenEndpointDelay(0);
      admin.disconnect();
      await failing.close();
    }
  });

  it('an exchange renewal the replica did not confirm: no refresh token was spent, the lock is released at once', async () => {
    const { locked } = await renewAt('/reports', true);
    expect(stack.op.stats.exchangeGrants).toBe(2);
    expect(stack.op.stats.refreshGrants).toBe(0);
    expect(locked).toBe(false);
  });
});
