import { parseArgs } from 'node:util';
import type { Config } from '../config/index.ts';
import { storeTarget } from '../config/store-target.ts';
import { sanitizedCause } from '../store/failure.ts';
import { createRedisClient, type RedisClient } from '../store/redis-client.ts';
import { countSealedKids, type SealedKidCount } from '../store/sealed-kids.ts';
import { ExitCode, type Command } from './commands.ts';
import { loadConfigFile } from './config-file.ts';

/**
 * `tokengate keys status --config FILE`: how many stored token sets each encryption key id
 * still seals (src/store/sealed-kids.ts), so an operator knows when an old key can leave
 * keys.encryption: once its count is 0 (token sets move to the sealing key when next read or
 * refreshed). A kid that is not in the keyring is flagged: those token sets cannot be opened.
 */

const USAGE = `Usage: tokengate keys status --config FILE [--time-budget SECONDS]

Scans the Redis store FILE names (every master of a Cluster) and prints, for each
encryption key id, how many stored token sets it still seals. Token sets move to
the sealing (first) key when they are next read or refreshed; a key whose count
is 0 can be removed from keys.encryption. Nothing is decrypted; only key ids are
read. The memory store lives inside the gateway process and cannot be scanned.

Options:
  --time-budget SECONDS  stop scanning after this long (default 10); the output
                         then says the counts are incomplete.

Exit codes: 0 done, 1 invalid configuration or the memory store, 2 wrong usage,
3 the store does not answer.`;

export const keysCommand: Command = {
  name: 'keys',
  summary: 'keys status: how many stored token sets each encryption key still seals',
  usage: USAGE,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === '-h' || sub === '--help') {
      io.out(USAGE);
      return ExitCode.ok;
    }
    if (sub !== 'status') {
      io.err(`tokengate keys: unknown subcommand${sub === undefined ? '' : ` "${sub}"`}\n\n${USAGE}`);
      return ExitCode.usage;
    }
    const { values } = parseArgs({
      args: rest,
      options: { config: { type: 'string', short: 'c' }, 'time-budget': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      io.out(USAGE);
      return ExitCode.ok;
    }
    if (values.config === undefined) {
      io.err('tokengate keys status: --config FILE is required');
      return ExitCode.usage;
    }
    const budget = values['time-budget'] === undefined ? 10 : Number(values['time-budget']);
    if (!Number.isFinite(budget) || budget <= 0 || budget > 3600) {
      io.err('tokengate keys status: --time-budget must be a number of seconds between 0 and 3600');
      return ExitCode.usage;
    }
    const config = loadConfigFile(values.config, io);
    if (config === undefined) return ExitCode.configInvalid;
    if (config.store.type === 'memory') {
      io.err('tokengate keys status: needs the redis store; the memory store lives inside the gateway process, where token sets are sealed under the first key at their next read or refresh');
      return ExitCode.configInvalid;
    }
    const started = performance.now();
    let client: RedisClient | undefined;
    let result: SealedKidCount;
    try {
      client = createRedisClient(config.store.redis);
      client.on('error', () => undefined);
      await ready(client, config.store.redis.connectTimeout);
      result = await countSealedKids(client, { keyPrefix: config.store.redis.keyPrefix, timeBudgetMs: budget * 1000 });
    } catch (err) {
      io.err(`tokengate keys status: the store does not answer (${storeTarget(config.store)}): ${sanitizedCause(err).message}`);
      return ExitCode.runtime;
    } finally {
      client?.disconnect();
    }
    for (const line of report(config, result, performance.now() - started)) io.out(line);
    return ExitCode.ok;
  },
};

function report(config: Config, result: SealedKidCount, elapsedMs: number): string[] {
  const configured = config.keys.encryption.map((spec) => spec.kid);
  const kids = [...configured, ...[...result.counts.keys()].filter((kid) => !configured.includes(kid)).sort()];
  const width = Math.max(3, ...kids.map((kid) => kid.length));
  const lines = [`${'kid'.padEnd(width)}  token sets  role`];
  for (const kid of kids) {
    const role = kid === configured[0] ? 'seals (first key)' : configured.includes(kid) ? 'opens only' : 'NOT IN keys.encryption: these token sets cannot be opened';
    lines.push(`${kid.padEnd(width)}  ${String(result.counts.get(kid) ?? 0).padStart(10)}  ${role}`);
  }
  const extra = result.unreadable > 0 ? `, ${result.unreadable} not in the sealed format` : '';
  lines.push(
    `${result.scanned} token set(s) on ${result.nodes} master(s)${extra}, ${Math.round(elapsedMs)} ms${result.complete ? '' : '; INCOMPLETE: the time budget ran out (--time-budget)'}`,
  );
  return lines;
}

/** Resolves once the client is ready (Cluster: its slots are known); rejects with the connection error or after `timeoutMs`. */
function ready(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => (lastError = err);
    const timer = setTimeout(() => finish(lastError ?? new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    const onReady = () => finish();
    function finish(err?: Error) {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      if (err) reject(err);
      else resolve();
    }
    client.on('error', onError);
    client.once('ready', onReady);
  });
}
