import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOpenIdProvider } from '../../demo/op.ts';
import { buildGateway } from '../../bench/build.ts';
import { childEntry, startChild, type ChildHandle } from '../../bench/child.ts';
import { cpuTimeMs } from '../../bench/cpu.ts';
import { API_PATH, callbackUrl, gatewayConfig, generateGatewayKeys } from '../../bench/gateway-config.ts';
import { freePorts } from '../../bench/listen.ts';
import { startRedis } from '../../bench/redis.ts';
import { apiHeaders, assertProxied, loginForLoad } from '../../bench/session.ts';

/**
 * A quick side-by-side of the proxied hot path with wrk, every server in its own process on
 * loopback: the upstream directly, a bare http-proxy-3 proxy, a bare undici proxy, and the
 * gateway (compiled, as production runs it) on Redis and on the memory store with a real
 * session. Rows alternate for `--rounds` rounds so drift on a shared machine hits all alike.
 * Reports rps, ratios to both bare proxies, and the CPU µs per request of each process under
 * test (from /proc/<pid>/stat), which moves far less than rps when other work shares the cores.
 *
 *   node scripts/hotpath/measure.ts [--duration 5] [--connections 32] [--rounds 2]
 *     [--rows direct,http-proxy-3,undici,redis,memory] [--other DIR] [--cpu-prof DIR]
 *     [--heap-prof DIR]
 *     [--syscalls DIR] [--node-options=...] [--source]
 *
 * Needs `wrk` (Debian: apt-get install wrk) and `redis-server` on PATH; `--syscalls` needs strace.
 * `--other DIR` builds the gateway of another checkout (with its node_modules) and measures it as
 * rows `redis@other` / `memory@other` in the same run, e.g. a `git archive` of main.
 */

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    rows: { type: 'string', default: 'direct,http-proxy-3,undici,redis,memory' },
    'cpu-prof': { type: 'string' },
    /** Sample the gateway rows' allocations (V8's sampling heap profiler) into DIR. */
    'heap-prof': { type: 'string' },
    'node-options': { type: 'string', default: '' },
    source: { type: 'boolean', default: false },
    /**
     * Another checkout of Tokengate (a directory): its gateway is built too and measured in the
     * same run as rows `redis@other` and `memory@other`, alternating with this checkout's.
     */
    other: { type: 'string' },
    /** Count the gateway rows' system calls with `strace -c` during one extra run (written to DIR). */
    syscalls: { type: 'string' },
  },
});

interface Row {
  name: string;
  url: string;
  pid: number;
  headers: Record<string, string>;
  runs: { rps: number; cpuUs: number }[];
}

const rowsWanted = args.rows.split(',');
const seconds = Number(args.duration);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const children: ChildHandle[] = [];
const stops: Array<() => Promise<void>> = [];

try {
  const upstream = await startChild('upstream', childEntry('upstream'));
  children.push(upstream);
  const rows: Row[] = [];
  const add = (name: string, child: ChildHandle, headers: Record<string, string> = {}) => {
    if (rowsWanted.includes(name.split('@')[0]!)) rows.push({ name, url: `${child.url}${API_PATH}`, pid: child.pid, headers, runs: [] });
  };
  add('direct', upstream);
  if (rowsWanted.includes('http-proxy-3')) add('http-proxy-3', await started('bare http-proxy-3', childEntry('bare-proxy'), { target: upstream.url }));
  if (rowsWanted.includes('undici')) add('undici', await started('bare undici', fileURLToPath(new URL('./bare-undici.ts', import.meta.url)), { target: upstream.url }));

  const gatewayRows = ['redis', 'memory'].filter((name) => rowsWanted.includes(name));
  if (args.other !== undefined) gatewayRows.push(...gatewayRows.map((name) => `${name}@other`));
  if (gatewayRows.length > 0) {
    let entry = childEntry('gateway');
    if (!args.source) {
      const build = await buildGateway();
      stops.push(() => build.remove());
      entry = build.entry;
    }
    let otherEntry = entry;
    if (args.other !== undefined) {
      const { buildGateway: buildOther } = (await import(`${args.other}/bench/build.ts`)) as typeof import('../../bench/build.ts');
      const build = await buildOther();
      stops.push(() => build.remove());
      otherEntry = build.entry;
    }
    const redis = rowsWanted.includes('redis') ? await startRedis() : undefined;
    if (redis) stops.push(() => redis.stop());
    const ports = await freePorts(gatewayRows.length);
    const client = { clientId: 'tokengate-hotpath', clientSecret: randomBytes(24).toString('base64url') };
    const provider = await startOpenIdProvider({ clients: [{ ...client, redirectUris: ports.map((port) => callbackUrl(`http://127.0.0.1:${port}`)) }] });
    stops.push(() => provider.close());
    const keys = generateGatewayKeys();
    for (const [index, name] of gatewayRows.entries()) {
      const port = ports[index]!;
      const config = gatewayConfig({
        port,
        publicOrigin: `http://127.0.0.1:${port}`,
        issuer: provider.issuer,
        client,
        upstream: upstream.url,
        keys,
        logLevel: 'info',
        ...(name.startsWith('redis') ? { redisUrl: redis!.url } : {}),
      });
      const execArgv = [...args['node-options'].split(' ').filter(Boolean), ...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof'], '--cpu-prof-name', `gateway-${name.replace('@', '-')}.cpuprofile`] : [])];
      const allocationProfile = args['heap-prof'] === undefined ? undefined : `${args['heap-prof']}/gateway-${name.replace('@', '-')}.heapprofile`;
      const init = allocationProfile === undefined ? { config } : { config, allocationProfile };
      const gateway = await started(`gateway ${name}`, name.endsWith('@other') ? otherEntry : entry, init, execArgv);
      const session = await loginForLoad(gateway.url);
      await assertProxied(gateway.url, session.cookie);
      add(name, gateway, apiHeaders(session.cookie));
    }
  }

  for (const row of rows) await wrk(row, 1); // warm-up
  for (let round = 0; round < rounds; round += 1) {
    for (const row of rows) {
      const before = await cpuTimeMs(row.pid);
      const result = await wrk(row, seconds);
      const after = await cpuTimeMs(row.pid);
      row.runs.push({ rps: result.rps, cpuUs: ((after! - before!) * 1000) / result.requests });
    }
  }
  if (args.syscalls !== undefined) {
    for (const row of rows.filter((r) => gatewayRows.includes(r.name))) {
      const out = `${args.syscalls}/syscalls-${row.name}.txt`;
      const tracer = spawn('strace', ['-c', '-f', '-p', String(row.pid), '-o', out], { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const result = await wrk(row, 3);
      tracer.kill('SIGINT');
      await once(tracer, 'exit');
      console.log(`${row.name}: ${result.requests} requests under strace -c, see ${out}`);
    }
  }
  const counts = await upstream.ask<{ requests: number; withBearer: number }>('counts');
  report(rows);
  for (const row of rows.filter((r) => gatewayRows.includes(r.name))) {
    const status = await readFile(`/proc/${row.pid}/status`, 'utf8');
    console.log(`${row.name}: peak RSS (VmHWM) ${status.match(/VmHWM:\s+(\d+)/)?.[1] ?? '?'} kB`);
  }
  console.log(`upstream: ${counts.requests} requests, ${counts.withBearer} with a bearer`);
} finally {
  for (const child of children.reverse()) await child.stop().catch(() => undefined);
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}

async function started(name: string, entry: string, init: unknown, execArgv: string[] = []): Promise<ChildHandle> {
  const child = await startChild(name, entry, { init, execArgv });
  children.push(child);
  return child;
}

function wrk(row: Row, duration: number): Promise<{ rps: number; requests: number }> {
  const headerArgs = Object.entries(row.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const wrkArgs = ['-t1', `-c${connections}`, `-d${duration}s`, '--timeout', '5s', ...headerArgs, row.url];
  return new Promise((resolve, reject) => {
    execFile('wrk', wrkArgs, { timeout: (duration + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(err);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
      if (non2xx) return reject(new Error(`${row.name}: ${non2xx[1]} non-2xx answers`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
      resolve({ rps, requests });
    });
  });
}

function report(rows: Row[]): void {
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const rpsOf = (name: string) => {
    const row = rows.find((r) => r.name === name);
    return row ? mean(row.runs.map((run) => run.rps)) : undefined;
  };
  const hp3 = rpsOf('http-proxy-3');
  const und = rpsOf('undici');
  console.log(`wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds, load ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log('row            rps      x hp3   x undici  CPU us/req   (per round rps)');
  for (const row of rows) {
    const rps = mean(row.runs.map((run) => run.rps));
    const cpu = mean(row.runs.map((run) => run.cpuUs));
    console.log(
      `${row.name.padEnd(13)} ${rps.toFixed(0).padStart(7)}  ${hp3 ? (rps / hp3).toFixed(2).padStart(6) : '     -'}  ${und ? (rps / und).toFixed(2).padStart(8) : '       -'}  ${cpu.toFixed(0).padStart(10)}   (${row.runs.map((run) => run.rps.toFixed(0)).join(', ')})`,
    );
  }
}
