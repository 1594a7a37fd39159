import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { holdBack, skipRedisSuite, startMasterWithReplica, type RedisServer } from '../support/redis-server.ts';
import { manualClock } from '../tokens/fixture.ts';

/**
 * What an operator sees of a token write the Redis replica did not confirm: the gateway on a
 * master with one replica (replicationWait on), the replica stopped across a refresh. The request
 * is answered with the new token; the line `store_write_unconfirmed` is logged, without a token;
 * `tokengate_store_unreplicated_writes_total{outcome="unconfirmed"}` counts it.
 */

const MINUTE = 60_000;
const skip = skipRedisSuite('unreplicated token writes through the gateway', 'redis-server');

describe.skipIf(skip)('a token write the replica did not confirm, through the gateway', () => {
  const clock = manualClock();
  let master: RedisServer;
  let replica: RedisServer;
  let stack: GatewayStack;

  beforeAll(async () => {
    ({ master, replica } = await startMasterWithReplica());
    stack = await startGatewayStack({ accessTokenTtl: 600, store: 'redis', redis: master, now: clock.now, redisReplicationWait: { replicas: 1, timeout: '300ms' } });
  }, 30_000);

  afterAll(async () => {
    await stack?.close();
    await replica?.stop();
    await master?.stop();
  });

  const unconfirmed = async () =>
    (await stack.instances[0]!.gateway.metrics.storeUnreplicatedWrites.get()).values.find((v) => v.labels.outcome === 'unconfirmed' && v.labels.op === 'compareAndSetTokens')?.value ?? 0;

  it('answers with the new token, logs store_write_unconfirmed and counts it', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    expect(await unconfirmed()).toBe(0);
    clock.advance(10 * MINUTE - 5_000);
    const { resumed } = await holdBack(replica, 3);
    const res = await browser.request(`${stack.url}/api/me`);
    await resumed;
    expect(res.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(await unconfirmed()).toBe(1);
    const lines = stack.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['event'] === 'store_write_unconfirmed');
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', op: 'compareAndSetTokens', replicas: 1, acked: 0 })]);
    expect(JSON.stringify(lines)).not.toMatch(/eyJ|v1\./);
  });
});
