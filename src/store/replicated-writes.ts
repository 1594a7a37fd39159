import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import type { RedisConfig } from '../config/schema.ts';
import type { RedisClient } from './redis-client.ts';
import type { LuaScript } from './redis-scripts.ts';

/**
 * Token writes that count as done only once the replicas of the key's master have them (Redis
 * WAIT). Replication is asynchronous: a master that dies right after acknowledging a write may
 * be replaced by a replica that never saw it, and a token set that rotated a refresh token would
 * come back holding the one the provider already redeemed (DESIGN.md, "Replication").
 *
 * WAIT confirms the last write of the connection it runs on and blocks that connection until the
 * replicas answer, so the writes go on a connection of their own (`tokengate-writes`), never
 * behind or in front of request reads. They go as group commits: every write queued while the
 * previous batch waited leaves in one pipeline with one WAIT after it (per Cluster master: the
 * pipeline is routed by the writes' keys, so WAIT runs on the master that holds them). A write
 * and its WAIT travel on one connection in one pipeline: if the connection drops between them,
 * WAIT fails, never confirms a write made on a connection that no longer exists.
 *
 * Each batch also asks the master for its connected replicas (ROLE, before the WAIT). A master
 * with none (a standalone server, or a promoted replica whose old master has not come back) has
 * no copy that a failover could bring back in its place: its writes are not waited for
 * (`connected` 0), and its next batches carry no WAIT until a replica connects.
 *
 * When a WAIT falls short (timeout, connection lost), the replicas of that master are behind:
 * for `SKIP_AFTER_SHORTFALL_MS` its batches carry no WAIT and their writes are reported
 * unconfirmed at once, so a lagging replica costs one `timeout` per interval, not one per write.
 */

export interface ReplicationWait {
  /** Replicas that must have a write (0: writes are not confirmed). */
  replicas: number;
  timeoutMs: number;
}

/**
 * `store.redis.replicationWait` with its defaults: 1 replica with sentinel or cluster, 0 with url;
 * a timeout of 500 ms, or half the command timeout when that is shorter (it must stay below it).
 */
export function replicationWaitOf(config: RedisConfig): ReplicationWait {
  const timeoutMs = config.replicationWait.timeout ?? Math.max(1, Math.min(500, Math.floor(config.commandTimeout / 2)));
  return { replicas: config.replicationWait.replicas ?? (config.url === undefined ? 1 : 0), timeoutMs };
}

/** A script's reply, and whether the replicas confirmed the batch it went out in. */
export interface ConfirmedReply {
  reply: unknown;
  confirmed: boolean;
  /** Replicas that acknowledged; undefined when WAIT was skipped or failed. */
  acked: number | undefined;
  /** Replicas connected to the master when the batch ran (ROLE); undefined when unknown. */
  connected: number | undefined;
}

interface Pending {
  script: LuaScript;
  keys: readonly string[];
  args: readonly (string | number)[];
  resolve: (reply: ConfirmedReply) => void;
  reject: (err: unknown) => void;
}

export const SKIP_AFTER_SHORTFALL_MS = 1000;

export class ReplicatedWrites {
  readonly #client: RedisClient;
  readonly #wait: ReplicationWait;
  /** Writes waiting for the batch in flight, by master (Cluster) or '' (one master). */
  readonly #queues = new Map<string, Pending[]>();
  readonly #sending = new Set<string>();
  /** performance.now() until which a master's batches carry no WAIT. */
  readonly #skipUntil = new Map<string, number>();
  /** Masters whose last batch found no replica connected: no WAIT until one is. */
  readonly #alone = new Set<string>();

  /** `client`: a connection of its own (createRedisClient with `tokengate-writes`). */
  constructor(client: RedisClient, wait: ReplicationWait) {
    this.#client = client;
    this.#wait = wait;
  }

  get wanted(): number {
    return this.#wait.replicas;
  }

  /** Runs the script (by EVAL: writes are few, and no NOSCRIPT round can split a batch) and confirms it. */
  write(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<ConfirmedReply> {
    if (keys.length !== script.keyCount) throw new TypeError(`script expects ${script.keyCount} keys`);
    const group = this.#groupOf(keys[0]!);
    return new Promise<ConfirmedReply>((resolve, reject) => {
      const queue = this.#queues.get(group);
      const pending = { script, keys, args, resolve, reject };
      if (queue === undefined) this.#queues.set(group, [pending]);
      else queue.push(pending);
      if (!this.#sending.has(group)) void this.#drain(group);
    });
  }

  /** Sends the group's batches one after the other until its queue is empty. */
  async #drain(group: string): Promise<void> {
    this.#sending.add(group);
    try {
      for (let batch = this.#take(group); batch.length > 0; batch = this.#take(group)) await this.#send(group, batch);
    } finally {
      this.#sending.delete(group);
    }
  }

  #take(group: string): Pending[] {
    const batch = this.#queues.get(group) ?? [];
    this.#queues.delete(group);
    return batch;
  }

  async #send(group: string, batch: Pending[]): Promise<void> {
    const skip = this.#alone.has(group) || (this.#skipUntil.get(group) ?? 0) > performance.now();
    const pipeline = this.#client.pipeline();
    for (const write of batch) pipeline.eval(write.script.lua, write.script.keyCount, ...write.keys, ...write.args);
    pipeline.role();
    if (!skip) pipeline.wait(this.#wait.replicas, this.#wait.timeoutMs);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (err) {
      for (const write of batch) write.reject(err);
      return;
    }
    const connected = connectedReplicas(results?.[batch.length]);
    if (connected === 0) this.#alone.add(group);
    else this.#alone.delete(group);
    const waited = skip ? undefined : results?.[batch.length + 1];
    const acked = waited !== undefined && waited[0] === null ? Number(waited[1]) : undefined;
    const confirmed = acked !== undefined && acked >= this.#wait.replicas;
    if (!confirmed && !skip && connected !== 0) this.#skipUntil.set(group, performance.now() + SKIP_AFTER_SHORTFALL_MS);
    batch.forEach((write, index) => {
      const result = results?.[index];
      if (result === undefined) write.reject(new Error('the write pipeline returned no reply'));
      else if (result[0] !== null) write.reject(result[0]);
      else write.resolve({ reply: result[1], confirmed, acked, connected });
    });
  }

  /**
   * The writes that may share a pipeline: one master. In Cluster, the master and replicas of the
   * key's slot (as ioredis groups slots for a pipeline); the slot itself until the map is known.
   */
  #groupOf(key: string): string {
    if (!(this.#client instanceof Cluster)) return '';
    const slot = calculateSlot(key);
    return this.#client.slots[slot]?.join(';') ?? `slot ${slot}`;
  }
}

/** The number of replicas in a master's ROLE reply (`master`, offset, [[ip, port, offset], ...]); undefined otherwise. */
function connectedReplicas(result: [Error | null, unknown] | undefined): number | undefined {
  if (result === undefined || result[0] !== null || !Array.isArray(result[1])) return undefined;
  const [role, , replicas] = result[1] as unknown[];
  return role === 'master' && Array.isArray(replicas) ? replicas.length : undefined;
}
