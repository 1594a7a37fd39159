import { Cluster } from 'ioredis';
import type { RedisConfig } from '../config/schema.ts';
import { decodeTokens } from './codec.ts';
import { createRedisClient, type RedisClient } from './redis-client.ts';
import * as scripts from './redis-scripts.ts';
import { runScript, type LuaScript } from './redis-scripts.ts';
import { type ConfirmedReply, ReplicatedWrites, replicationWaitOf } from './replicated-writes.ts';
import type { CompareAndSetResult, StoredTokenSet, UnreplicatedWrite } from './types.ts';
import { UnconfirmedWrites } from './unconfirmed-writes.ts';

/**
 * The Redis store's token writes (createSession, compareAndSetTokens) and what follows from
 * their replication:
 * - with `replicationWait.replicas` > 0 they go through ReplicatedWrites on a connection of
 *   their own, and resolve once that many replicas have them or the wait fell short, which the
 *   result and `onUnreplicatedWrite` report; otherwise on the store's connection, as they are;
 * - their deadline (`deadlineMs`) is `commandTimeout` plus the wait's timeout: a write that
 *   landed is not reported failed because its confirmation took the wait's time;
 * - a compare-and-set that was not confirmed is remembered (unconfirmed-writes.ts), and written
 *   again when a read shows Redis went back to exactly the token set it replaced;
 * - a write on a master with no replica connected is not waited for (`no_replica`): no copy
 *   exists that a failover could promote in its place.
 */

export interface TokenWritesOptions {
  /** Connection-level errors of the write connection. */
  report: (err: unknown) => void;
  onUnreplicatedWrite: ((event: UnreplicatedWrite) => void) | undefined;
  /** How long an unconfirmed compare-and-set is remembered for a restore. */
  rememberMs: number;
}

export class TokenWrites {
  readonly deadlineMs: number;
  readonly #client: RedisClient;
  /** Undefined when writes are not confirmed (replicationWait.replicas 0). */
  readonly #writes: ReplicatedWrites | undefined;
  readonly #writer: RedisClient | undefined;
  readonly #unconfirmed: UnconfirmedWrites;
  readonly #onUnreplicatedWrite: ((event: UnreplicatedWrite) => void) | undefined;

  /** `client`: the store's own connection. */
  constructor(client: RedisClient, config: RedisConfig, options: TokenWritesOptions) {
    this.#client = client;
    this.#unconfirmed = new UnconfirmedWrites(options.rememberMs);
    this.#onUnreplicatedWrite = options.onUnreplicatedWrite;
    const wait = replicationWaitOf(config);
    this.deadlineMs = config.commandTimeout;
    if (wait.replicas === 0) return;
    // Each command's timeout too: a write's WAIT may block the connection for the wait's timeout.
    const writer = createRedisClient({ ...config, commandTimeout: config.commandTimeout + wait.timeoutMs }, 'tokengate-writes');
    writer.on('error', options.report);
    if (writer instanceof Cluster) {
      writer.on('node error', options.report);
      // The write connection's slot map follows the main one: after a failover, writes go to
      // the promoted master as soon as reads do, not up to a refresh interval later.
      client.on('refresh', () => writer.refreshSlotsCache());
    }
    this.#writer = writer;
    this.#writes = new ReplicatedWrites(writer, wait);
    this.deadlineMs = config.commandTimeout + wait.timeoutMs;
  }

  /** KEYS sess, tok (scripts.createSession). */
  async createSession(keys: readonly [string, string], args: readonly (string | number)[]): Promise<void> {
    const created = await this.#write(scripts.createSession, keys, args);
    if (!created.confirmed) this.#report(created.connected === 0 ? 'no_replica' : 'unconfirmed', 'createSession', created.acked);
  }

  /** scripts.compareAndSetTokens of `value` (carrying expectedVer + 1) on the token set key. */
  async compareAndSet(sid: string, key: string, expectedVer: number, value: string, channel: string): Promise<CompareAndSetResult> {
    const written = await this.#write(scripts.compareAndSetTokens, [key], [expectedVer, value, channel, sid]);
    const reply = written.reply as [written: 1, replacedSha: string] | [written: 0, current: string | null];
    if (reply[0] === 0) return { ok: false, current: reply[1] ? decodeTokens(reply[1]) : null };
    if (written.confirmed) {
      this.#unconfirmed.forget(sid);
      return { ok: true, ver: expectedVer + 1 };
    }
    if (written.connected === 0) {
      // No replica holds an older copy that a failover could promote: nothing to wait for.
      this.#report('no_replica', 'compareAndSetTokens', undefined);
      return { ok: true, ver: expectedVer + 1 };
    }
    this.#unconfirmed.remember(sid, { replacedVer: expectedVer, replacedSha: reply[1], value });
    this.#report('unconfirmed', 'compareAndSetTokens', written.acked);
    return { ok: true, ver: expectedVer + 1, unconfirmed: true };
  }

  /**
   * `tokens` as read from `key`, or, when they are exactly the token set an unconfirmed write of
   * this process replaced (a failover lost that write), that write's token set, written again.
   */
  async restoreIfLost(sid: string, key: string, channel: string, tokens: StoredTokenSet | null): Promise<StoredTokenSet | null> {
    const lost = this.#unconfirmed.restorable(sid, tokens?.ver);
    if (lost === undefined) return tokens;
    const restored = await this.#write(scripts.restoreTokens, [key], [lost.replacedSha, lost.value, channel, sid]);
    if (restored.reply !== 1) {
      this.#unconfirmed.forget(sid);
      return tokens;
    }
    if (restored.confirmed) this.#unconfirmed.forget(sid);
    this.#report('restored', 'compareAndSetTokens', restored.acked);
    return decodeTokens(lost.value);
  }

  close(): void {
    this.#writer?.disconnect();
  }

  async #write(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<ConfirmedReply> {
    if (this.#writes === undefined) return { reply: await runScript(this.#client, script, keys, args), confirmed: true, acked: undefined, connected: undefined };
    return this.#writes.write(script, keys, args);
  }

  #report(outcome: UnreplicatedWrite['outcome'], op: UnreplicatedWrite['op'], acked: number | undefined): void {
    this.#onUnreplicatedWrite?.({ outcome, op, wanted: this.#writes?.wanted ?? 0, acked });
  }
}
