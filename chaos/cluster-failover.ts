import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rawCommand, roleOf, startRedisServer, waitForReplicasInSync, type RedisServer } from '../test/support/redis-server.ts';
import { waitFor } from '../test/support/wait.ts';
import { recoveryMs, runLoad, summary } from './load.ts';
import type { Scenario, ScenarioResult } from './scenarios.ts';
import { sleep, startChaosStack } from './stack.ts';

const run = promisify(execFile);

/**
 * A Redis Cluster master failover: three masters with one replica each (cluster-node-timeout
 * 2 s); one master is killed (-9) under load and its replica takes over once the others agree
 * it failed.
 */
export const clusterFailover: Scenario = {
  name: 'cluster-failover',
  describe: 'Redis Cluster (3 masters + 3 replicas): one master kill -9 under load',
  async run({ quick }): Promise<ScenarioResult> {
    const servers: RedisServer[] = [];
    try {
      for (let index = 0; index < 6; index += 1) {
        servers.push(await startRedisServer({ cluster: true, args: ['--cluster-node-timeout', '2000'] }));
      }
      await run('redis-cli', ['--cluster', 'create', ...servers.map((server) => `127.0.0.1:${server.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
      for (const server of servers) {
        await waitFor(`cluster_state:ok on ${server.port}`, async () => (await rawCommand(server.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'), 20_000);
      }
      // Each master's replica must have completed its first sync, or it may not take over.
      await waitForReplicasInSync(servers, 3, 30_000);
      const nodes = servers.map((server) => `{ host: 127.0.0.1, port: ${server.port} }`).join(', ');
      const chaos = await startChaosStack({ storeConfig: `store: { type: redis, redis: { cluster: { nodes: [${nodes}] } } }`, accessTokenTtl: 4, args: ['--workers', '1'] });
      try {
        const ok = (outcome: number | string) => outcome === 200;
        const duration = quick ? 12_000 : 16_000;
        const load = runLoad({ target: chaos.target, concurrency: 8, maxMs: duration });
        await sleep(2_000);
        const { master: victim, keys } = await busiestMaster(servers);
        const replica = await replicaOf(victim, servers);
        const faultAt = performance.now();
        await victim.kill();
        // When the cluster answers again: the victim's replica promoted and the cluster state ok.
        const survivor = servers.find((server) => server !== victim && server !== replica)!;
        let okAfterMs: number | undefined;
        const watch = waitFor(
          'the replica promoted and cluster_state:ok',
          async () => (await roleOf(replica)) === 'master' && (await rawCommand(survivor.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'),
          duration,
        ).then(
          () => (okAfterMs = Math.round(performance.now() - faultAt)),
          () => undefined,
        );
        const samples = await load;
        await watch;
        const state = /cluster_state:(\w+)/.exec(await rawCommand(survivor.port, ['CLUSTER', 'INFO']).catch(() => ''))?.[1] ?? 'unknown';
        const promoted = (await roleOf(replica)) === 'master';
        return summary('cluster-failover', samples, ok, {
          recoverMs: recoveryMs(samples, ok, faultAt),
          sessionsLost: await chaos.sessionsLost(),
          refreshReused: chaos.stack.op.stats.refreshReuse,
          notes: `killed the master holding the most keys (${keys}); cluster_state after the load: ${state}${okAfterMs === undefined ? '' : ` (ok again ${okAfterMs} ms after the kill)`}; the victim's replica ${promoted ? 'was' : 'was NOT'} promoted (after cluster-node-timeout, 2 s); writes the old master acknowledged but had not replicated may be lost`,
        });
      } finally {
        await chaos.close();
      }
    } finally {
      for (const server of servers) await server.stop().catch(() => undefined);
    }
  },
};

/**
 * The master holding the most keys (DBSIZE), so that the fault hits sessions: with a handful of
 * sessions over three masters, a master chosen blindly may hold none of them.
 */
async function busiestMaster(servers: RedisServer[]): Promise<{ master: RedisServer; keys: number }> {
  let busiest: { master: RedisServer; keys: number } | undefined;
  for (const server of servers) {
    if (!(await rawCommand(server.port, ['INFO', 'replication'], 1_000).catch(() => '')).includes('role:master')) continue;
    const keys = Number(/^:(\d+)/.exec(await rawCommand(server.port, ['DBSIZE'], 1_000))?.[1] ?? 0);
    if (busiest === undefined || keys > busiest.keys) busiest = { master: server, keys };
  }
  if (busiest === undefined) throw new Error('no master found');
  return busiest;
}

/** The server that replicates `master` (from its INFO replication `slave0:ip=...,port=...`). */
async function replicaOf(master: RedisServer, servers: RedisServer[]): Promise<RedisServer> {
  const info = await rawCommand(master.port, ['INFO', 'replication'], 1_000);
  const port = Number(/slave0:[^\r\n]*port=(\d+)/.exec(info)?.[1]);
  const replica = servers.find((server) => server.port === port);
  if (replica === undefined) throw new Error(`no replica of ${master.port} found`);
  return replica;
}
