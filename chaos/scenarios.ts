import { rawCommand, roleOf, startRedisServer, waitForReplicasInSync, type RedisServer } from '../test/support/redis-server.ts';
import { waitFor } from '../test/support/wait.ts';
import { CSRF, errorsBy, recoveryMs, runLoad, summary, type Sample } from './load.ts';
import { clusterFailover } from './cluster-failover.ts';
import { providerHung } from './provider-hung.ts';
import { sampleRss } from './rss.ts';
import { alive, sleep, startChaosStack, type ChaosStack } from './stack.ts';

/**
 * The fault scenarios of `npm run chaos`. Each one starts its own deployment, runs a bounded
 * load through logged-in sessions, injects one fault, and reports what the clients saw.
 */

export interface ScenarioResult {
  scenario: string;
  requests: number;
  /** Requests that did not get the expected answer, by status or error code. */
  errors: Record<string, number>;
  longestMs: number;
  /** From the fault to the end of the last failed request; null when it does not apply. */
  recoverMs: number | null;
  sessionsLost: number | null;
  /** Refresh tokens the provider saw used twice (its reuse detection). */
  refreshReused: number | null;
  rssSlopeMbPerMin: number | null;
  notes: string;
}

export interface ScenarioContext {
  quick: boolean;
  log: (line: string) => void;
}

export interface Scenario {
  name: string;
  describe: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

const ok200 = (outcome: number | string) => outcome === 200;

async function withStack<T>(start: () => Promise<ChaosStack>, body: (chaos: ChaosStack) => Promise<T>): Promise<T> {
  const chaos = await start();
  try {
    return await body(chaos);
  } finally {
    await chaos.close();
  }
}

/** Redis killed (-9) under load and started again on its append-only file. */
const redisKill: Scenario = {
  name: 'redis-kill',
  describe: 'Redis kill -9 under load, restarted 1.5 s later (append-only file, fsync always)',
  run: ({ quick }) =>
    withStack(
      () => startChaosStack({ redisPersist: true, accessTokenTtl: 4, args: ['--workers', '1'] }),
      async (chaos) => {
        const duration = quick ? 6_000 : 15_000;
        const load = runLoad({ target: chaos.target, concurrency: 8, maxMs: duration });
        await sleep(duration / 3);
        const faultAt = performance.now();
        await chaos.stack.redis!.kill();
        await sleep(1_500);
        await chaos.stack.redis!.restart();
        const samples = await load;
        return summary('redis-kill', samples, ok200, {
          recoverMs: recoveryMs(samples, ok200, faultAt),
          sessionsLost: await chaos.sessionsLost(),
          refreshReused: chaos.stack.op.stats.refreshReuse,
          notes: 'access tokens live 4 s, so refreshes run through the outage',
        });
      },
    ),
};

/** One worker of two killed (-9) under load; the primary restarts it. */
const workerKill: Scenario = {
  name: 'worker-kill',
  describe: 'kill -9 of one of two workers under load',
  run: ({ quick }) =>
    withStack(
      () => startChaosStack({ args: ['--workers', '2'] }),
      async (chaos) => {
        const duration = quick ? 4_000 : 10_000;
        const load = runLoad({ target: chaos.target, concurrency: 16, maxMs: duration, timeoutMs: 10_000 });
        await sleep(duration / 3);
        const worker = chaos.pids().find((pid) => pid !== chaos.cli.child.pid)!;
        const faultAt = performance.now();
        process.kill(worker, 'SIGKILL');
        const samples = await load;
        const exited = chaos.stack.logLines().filter((line) => line['event'] === 'worker_orphans_answered');
        return summary('worker-kill', samples, ok200, {
          recoverMs: recoveryMs(samples, ok200, faultAt),
          sessionsLost: await chaos.sessionsLost(),
          refreshReused: chaos.stack.op.stats.refreshReuse,
          notes: `requests the dead worker was serving are reset; connections handed to it answered 503: ${exited.reduce((sum, line) => sum + Number(line['connections']), 0)}`,
        });
      },
    ),
};

/** SIGTERM with 8 slow requests in flight and load still arriving: to the primary, or to the whole process group. */
function sigterm(group: boolean): Scenario {
  const name = group ? 'sigterm-group' : 'sigterm';
  return {
    name,
    describe: `SIGTERM to ${group ? 'the process group' : 'the primary'} (--workers 2) with 8 slow requests (2 s) in flight and load arriving`,
    run: () =>
      withStack(
        () => startChaosStack({ args: ['--workers', '2'], detached: group, drainDelay: '500ms' }),
        async (chaos) => {
          const slowBefore = chaos.stack.api.requests.length;
          const slow = Promise.all(
            Array.from({ length: 8 }, (_, index) =>
              fetch(`${chaos.stack.publicOrigin}/api/slow?ms=2000&i=${index}`, { headers: { cookie: chaos.cookies[index % chaos.cookies.length]!, ...CSRF } }).then(
                async (res) => {
                  await res.arrayBuffer();
                  return res.status;
                },
                () => 'error',
              ),
            ),
          );
          await waitFor('8 slow requests at the upstream', async () => chaos.stack.api.requests.slice(slowBefore).filter((r) => r.path === '/slow').length >= 8, 10_000);
          const load = runLoad({ target: chaos.target, concurrency: 8, maxMs: 15_000, until: chaos.cli.exited });
          await sleep(300);
          if (group) process.kill(-chaos.cli.child.pid!, 'SIGTERM');
          else chaos.cli.child.kill('SIGTERM');
          const [slowStatuses, samples, exit] = await Promise.all([slow, load, chaos.cli.exited]);
          // Refused once the listeners have closed: the load balancer's part, not an error.
          const okOrRefused = (outcome: number | string) => outcome === 200 || outcome === 'ECONNREFUSED';
          const slowFailed = slowStatuses.filter((status) => status !== 200).length;
          const result = summary(name, samples, okOrRefused, {
            notes: `slow requests completed ${8 - slowFailed}/8; exit code ${exit.code}; refused after close: ${samples.filter((s) => s.outcome === 'ECONNREFUSED').length}`,
          });
          if (slowFailed > 0) result.errors['slow-request-failed'] = slowFailed;
          return result;
        },
      ),
  };
}

/** Sentinel: one master, one replica, three sentinels; the master killed under load. */
const sentinelFailover: Scenario = {
  name: 'sentinel-failover',
  describe: 'Sentinel failover: master kill -9 under load (1 replica, 3 sentinels, down-after 5 s)',
  run: async ({ quick }) => {
    const servers: RedisServer[] = [];
    try {
      const master = await startRedisServer({ persist: true });
      servers.push(master);
      const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
      servers.push(replica);
      for (let index = 0; index < 3; index += 1) servers.push(await startRedisServer({ sentinelFor: { name: 'tg', masterPort: master.port } }));
      // A steady deployment: the replica has completed its first sync (before it has, a Sentinel
      // may promote it empty and every session is gone) and every sentinel knows it and the others.
      await waitForReplicasInSync([replica], 1, 30_000);
      for (const sentinel of servers.slice(2)) {
        await waitFor(`sentinel ${sentinel.port} knows the replica and 3 sentinels`, async () => /master0:name=tg,status=ok,[^\r\n]*slaves=1,sentinels=3/.test(await rawCommand(sentinel.port, ['INFO', 'sentinel'])), 30_000);
      }
      const sentinels = servers.slice(2).map((server) => `{ host: 127.0.0.1, port: ${server.port} }`).join(', ');
      return await withStack(
        () => startChaosStack({ storeConfig: `store: { type: redis, redis: { sentinel: { name: tg, sentinels: [${sentinels}] } } }`, accessTokenTtl: 4, args: ['--workers', '1'] }),
        async (chaos) => {
          // Let the logins' writes reach the replica before the master goes.
          await sleep(1_000);
          const duration = quick ? 14_000 : 20_000;
          const load = runLoad({ target: chaos.target, concurrency: 8, maxMs: duration });
          await sleep(2_000);
          const faultAt = performance.now();
          await master.kill();
          const samples = await load;
          const promoted = (await roleOf(replica)) === 'master';
          return summary('sentinel-failover', samples, ok200, {
            recoverMs: recoveryMs(samples, ok200, faultAt),
            sessionsLost: await chaos.sessionsLost(),
            refreshReused: chaos.stack.op.stats.refreshReuse,
            notes: `the outage lasts the sentinels' down-after-milliseconds (5 s) plus the failover; the replica ${promoted ? 'was' : 'was NOT'} promoted`,
          });
        },
      );
    } finally {
      for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    }
  },
};

/** A short soak: steady load, refreshes every 2 s, resident memory sampled. */
const soak: Scenario = {
  name: 'soak',
  describe: 'steady load with refreshes (4 s access tokens), RSS sampled',
  run: ({ quick }) =>
    withStack(
      () => startChaosStack({ accessTokenTtl: 4, sessions: 8, args: ['--workers', '1'] }),
      async (chaos) => {
        const duration = quick ? 5_000 : 60_000;
        // Warm up before sampling: the first seconds are JIT and pools filling.
        await runLoad({ target: chaos.target, concurrency: 8, maxMs: 2_000 });
        const rss = sampleRss(() => chaos.pids().filter(alive));
        const samples = await runLoad({ target: chaos.target, concurrency: 8, maxMs: duration });
        const memory = rss.stop();
        return summary('soak', samples, ok200, {
          sessionsLost: await chaos.sessionsLost(),
          refreshReused: chaos.stack.op.stats.refreshReuse,
          rssSlopeMbPerMin: Math.round(memory.slopeMbPerMin * 10) / 10,
          notes: `${Math.round(duration / 1000)} s; RSS ${Math.round(memory.firstMb)} → ${Math.round(memory.lastMb)} MB (peak ${Math.round(memory.peakMb)}, ${memory.pids} process(es)); refresh grants ${chaos.stack.op.stats.refreshGrants}`,
        });
      },
    ),
};

export const SCENARIOS: readonly Scenario[] = [redisKill, sentinelFailover, clusterFailover, providerHung, workerKill, sigterm(false), sigterm(true), soak];
