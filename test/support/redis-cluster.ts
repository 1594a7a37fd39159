import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rawCommand, startRedisServer, waitForReplicasInSync, type RedisServer } from './redis-server.ts';
import { waitFor } from './wait.ts';

/**
 * A real three-master Redis Cluster on free loopback ports, each node in its own temp dir,
 * created with `redis-cli --cluster create`; with `replicas: 1` each master has a replica, and
 * the cluster is returned once every replica has completed its first sync (only then can it take
 * over). stop() ends every node.
 */

const run = promisify(execFile);

export interface RedisClusterHandle {
  readonly nodes: readonly { host: string; port: number }[];
  readonly servers: readonly RedisServer[];
  stop(): Promise<void>;
}

const MASTER_COUNT = 3;

export async function startRedisCluster(options: { replicas?: 0 | 1 } = {}): Promise<RedisClusterHandle> {
  const replicas = options.replicas ?? 0;
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let index = 0; index < MASTER_COUNT * (1 + replicas); index += 1) {
      servers.push(
        await startRedisServer({
          cluster: true,
          args: ['--cluster-node-timeout', '2000'],
        }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 20_000 });
    for (const server of servers) {
      await waitFor(`cluster_state:ok on port ${server.port}`, async () => {
        const info = await rawCommand(server.port, ['CLUSTER', 'INFO']);
        return info.includes('cluster_state:ok');
      }, 15_000);
    }
    await waitForReplicasInSync(servers, MASTER_COUNT * replicas, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })), servers, stop };
}
