import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onFreePorts } from './ports.ts';
import { waitFor } from './wait.ts';

/**
 * Real redis-server processes for tests: bound to 127.0.0.1 on a free port, no persistence
 * unless asked, data in a temp dir removed on stop().
 *
 * Availability: without `redis-server` on PATH the Redis suites are skipped with a loud
 * warning, except in CI (`CI=true`), where they run and fail. `REDIS_URL` points suites that
 * only need *a* Redis (not one they can kill) at an existing server instead.
 */

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGTERM, wait for exit, remove the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL by pid, wait for exit. The temp dir (and any AOF in it) stays for restart(). */
  kill(): Promise<void>;
  /** Starts again on the same port and dir; with `persist` the data written before is back. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** Append-only file with fsync on every write, so kill() + restart() keeps the data. */
  persist?: boolean;
  /** Extra arguments, e.g. cluster mode or `--requirepass`. */
  args?: readonly string[];
  /** Run as a Sentinel monitoring this master (quorum 1) instead of as a data server. */
  sentinelFor?: { name: string; masterPort: number };
  /**
   * A Redis Cluster node (nodes.conf in its dir) whose cluster bus listens on a free port of its
   * own. The default bus port, port + 10000, is invalid for the free ports above 55535 that the
   * OS hands out (redis-server then exits), and may be taken by another process.
   */
  cluster?: boolean;
}

const READY_TIMEOUT_MS = 5000;

export function hasRedisServerBinary(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/**
 * Whether a suite needing `need` must be skipped here. Prints a loud warning when it does. In
 * CI nothing is skipped: a missing redis-server then fails the suite when it starts.
 */
export function skipRedisSuite(suite: string, need: 'redis-server' | 'any-redis'): boolean {
  if (process.env.CI === 'true') return false;
  if (hasRedisServerBinary()) return false;
  if (need === 'any-redis' && process.env.REDIS_URL) return false;
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING ${suite}: redis-server is not on PATH${need === 'any-redis' ? ' and REDIS_URL is not set' : ''}.\n` +
      `!! Install redis-server (7.x) to run it. In CI (CI=true) this is a failure, not a skip.\n${bar}\n`,
  );
  return true;
}

/** Sends one command over RESP and returns the raw reply text (enough for PING and INFO). */
export async function rawCommand(port: number, args: readonly string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let reply = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply);
    };
    const timer = setTimeout(() => done(new Error(`no reply from 127.0.0.1:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', done);
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (isCompleteReply(reply)) done();
    });
    socket.connect(port, '127.0.0.1', () => {
      socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`);
    });
  });
}

function isCompleteReply(reply: string): boolean {
  if (/^[+\-:]/.test(reply)) return reply.endsWith('\r\n');
  const bulk = /^\$(-?\d+)\r\n/.exec(reply);
  if (!bulk) return false;
  const length = Number(bulk[1]);
  return length < 0 || Buffer.byteLength(reply) >= bulk[0].length + length + 2;
}

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

async function serverArgs(port: number, busPort: number | undefined, dir: string, options: StartRedisOptions): Promise<string[]> {
  if (options.sentinelFor) {
    // A Sentinel needs a config file it can rewrite.
    const file = join(dir, 'sentinel.conf');
    const { name, masterPort } = options.sentinelFor;
    await writeFile(
      file,
      [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`, `sentinel down-after-milliseconds ${name} 5000`, ''].join('\n'),
    );
    return [file, '--sentinel', ...(options.args ?? [])];
  }
  const persistence = options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const cluster = busPort !== undefined ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)] : [];
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    ...persistence,
    ...cluster,
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--loglevel', 'warning',
    ...(options.args ?? []),
  ];
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Spawns redis-server and waits for PING; rejects (with its output) if it exits first. */
async function launch(port: number, busPort: number | undefined, dir: string, options: StartRedisOptions): Promise<Running> {
  const child = spawn('redis-server', await serverArgs(port, busPort, dir, options), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exitedEarly: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedEarly = new Error(`redis-server on port ${port} exited (${signal ?? code}): ${output.trim()}`);
      resolve();
    });
    child.once('error', (err) => {
      exitedEarly = err;
      resolve();
    });
  });
  try {
    await waitFor(`redis-server on port ${port}`, async () => {
      if (exitedEarly) return true;
      // A server with a password answers NOAUTH: it is up all the same.
      return /^(\+PONG|-NOAUTH)/.test(await rawCommand(port, ['PING'], 250));
    }, READY_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  if (exitedEarly) throw exitedEarly;
  return { child, exited };
}

async function terminate(running: Running, signal: NodeJS.Signals): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill(signal);
  const forced = setTimeout(() => running.child.kill('SIGKILL'), 3000);
  await running.exited;
  clearTimeout(forced);
}

export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServer> {
  if (!hasRedisServerBinary()) throw new Error('redis-server is not on PATH (required when CI=true)');
  const dir = await mkdtemp(join(tmpdir(), 'tokengate-redis-'));
  let port = 0;
  let busPort: number | undefined;
  let running: Running;
  try {
    // The port is on redis-server's command line: when another process takes it first, a new one.
    running = await onFreePorts(options.cluster ? 2 : 1, (ports) => {
      [port, busPort] = [ports[0]!, ports[1]];
      return launch(port, busPort, dir, options);
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let current: Running = running;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop() {
      await terminate(current, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      await terminate(current, 'SIGKILL');
    },
    async restart() {
      await terminate(current, 'SIGKILL');
      current = await launch(port, busPort, dir, options);
    },
  };
}

/**
 * Stops a server's process (SIGSTOP) for `seconds`, then lets it run again (SIGCONT), also if
 * the test process exits first. Resolves once stopped, with a promise of it running again. A
 * stopped replica neither applies nor acknowledges the replication stream.
 */
export async function holdBack(server: RedisServer, seconds: number): Promise<{ resumed: Promise<void> }> {
  const pid = Number(/process_id:(\d+)/.exec(await rawCommand(server.port, ['INFO', 'server']))?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`no process id for port ${server.port}`);
  process.kill(pid, 'SIGSTOP');
  const resume = () => process.kill(pid, 'SIGCONT');
  process.once('exit', resume);
  const resumed = new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000)).finally(() => {
    resume();
    process.off('exit', resume);
  });
  return { resumed };
}

/** A master and one replica whose first sync has completed (the master starts it at once). */
export async function startMasterWithReplica(): Promise<{ master: RedisServer; replica: RedisServer }> {
  const master = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
  try {
    const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    await waitForReplicasInSync([replica], 1, 15_000).catch(async (err: unknown) => {
      await replica.stop();
      throw err;
    });
    return { master, replica };
  } catch (err) {
    await master.stop();
    throw err;
  }
}
