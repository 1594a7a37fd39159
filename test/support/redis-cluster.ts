import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rawCommand, startRedisServer, waitFor, type RedisServer } from './redis-server.ts';

/**
 * A real three-master Redis Cluster (no replicas) on free loopback ports, each node in its own
 * temp dir, created with `redis-cli --cluster create`. stop() ends every node.
 */

const run = promisify(execFile);

export interface RedisClusterHandle {
  readonly nodes: readonly { host: string; port: number }[];
  readonly servers: readonly RedisServer[];
  stop(): Promise<void>;
}

const NODE_COUNT = 3;

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let index = 0; index < NODE_COUNT; index += 1) {
      servers.push(
        await startRedisServer({
          cluster: true,
          args: ['--cluster-node-timeout', '2000'],
        }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    for (const server of servers) {
      await waitFor(`cluster_state:ok on port ${server.port}`, async () => {
        const info = await rawCommand(server.port, ['CLUSTER', 'INFO']);
        return info.includes('cluster_state:ok');
      }, 15_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })), servers, stop };
}
