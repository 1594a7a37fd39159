import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { freePort } from './listen.ts';

/**
 * A throwaway redis-server for the benchmark (no persistence, loopback only), and the counters
 * the benchmark reads from it: per-command call counts (`INFO commandstats`) and read events
 * (`INFO stats` total_reads_processed: one per batch of commands a client sends, which with one
 * request in flight at a time is one per round trip).
 */
export interface RedisCounters {
  /** calls per command name, e.g. { evalsha: 1000, get: 2 } */
  commands: Record<string, number>;
  readsProcessed: number;
}

export interface BenchRedis {
  readonly url: string;
  readonly pid: number;
  counters(): Promise<RedisCounters>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--dir', tmpdir()],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await waitForReady(server);
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid!,
    async counters() {
      // One command, so one read event of our own between two readings (see roundTripsBetween).
      const info = await client.info('everything');
      return { commands: parseCommandStats(info), readsProcessed: parseStat(info, 'total_reads_processed') };
    },
    async stop() {
      client.disconnect();
      if (server.exitCode === null) {
        const exited = once(server, 'exit');
        server.kill('SIGTERM');
        await exited;
      }
    },
  };
}

function waitForReady(server: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      server.kill('SIGKILL');
      reject(new Error('redis-server did not start within 10 s'));
    }, 10_000);
    server.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        server.stdout!.resume();
        resolve();
      }
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}`));
    });
    server.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error('redis-server is not on PATH: rows (c) and (e) need it (Debian: apt-get install redis-server)') : err);
    });
  });
}

export function parseCommandStats(info: string): Record<string, number> {
  const commands: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[match[1]!] = Number(match[2]);
  return commands;
}

function parseStat(info: string, name: string): number {
  const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

/**
 * Read events between two readings that came from the gateway: the later INFO's own read is
 * counted in its answer, so it is taken off.
 */
export function readsBetween(before: RedisCounters, after: RedisCounters): number {
  return after.readsProcessed - before.readsProcessed - 1;
}

/** Commands run between two readings, leaving out the benchmark's own INFO calls. */
export function commandDelta(before: RedisCounters, after: RedisCounters): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after.commands)) {
    if (name === 'info') continue;
    const diff = calls - (before.commands[name] ?? 0);
    if (diff > 0) delta[name] = diff;
  }
  return delta;
}
