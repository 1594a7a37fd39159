import { rawCommand, waitFor, type RedisServer } from '../test/support/redis-server.ts';

/**
 * Waits until `replicas` of `servers` are replicas whose initial sync has completed (link up, no
 * sync in progress). A replica that has never synced is not a standby: with the default
 * `repl-diskless-sync-delay` (5 s) the first sync starts seconds after the replica attaches, and
 * a fault injected before then finds either no replica that may take over (Redis Cluster refuses
 * to fail over to a replica that never had a link to its master, and the cluster stays down) or
 * an empty one (a Sentinel may promote it, and every session is gone).
 */
export async function waitForReplicasInSync(servers: readonly RedisServer[], replicas: number, timeoutMs: number): Promise<void> {
  await waitFor(`${replicas} replica(s) in sync`, async () => {
    let synced = 0;
    for (const server of servers) {
      const info = await rawCommand(server.port, ['INFO', 'replication'], 1_000).catch(() => '');
      if (info.includes('role:slave') && info.includes('master_link_status:up') && info.includes('master_sync_in_progress:0')) synced += 1;
    }
    return synced >= replicas;
  }, timeoutMs);
}

/** The `role` line of INFO replication ('master', 'slave'), or 'unreachable'. */
export async function roleOf(server: RedisServer): Promise<string> {
  const info = await rawCommand(server.port, ['INFO', 'replication'], 1_000).catch(() => '');
  return /role:(\w+)/.exec(info)?.[1] ?? 'unreachable';
}
