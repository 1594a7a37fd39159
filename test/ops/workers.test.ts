import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import type { LoginResult } from '../support/login.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import { freshGet, readyzBecomes, startCliStack, type CliStack } from './support/cli-stack.ts';
import { scrape, valueOf } from './support/prometheus.ts';

/**
 * `start --workers N`: a node:cluster primary with N workers sharing the main port, sessions
 * shared through Redis, the primary serving /metrics (summed over the workers) and /readyz.
 */

const skip = skipRedisSuite('start --workers on Redis', 'redis-server');

/** The pids of the processes that wrote access lines for `route` (pino puts the pid on every line). */
function pidsServing(stack: CliStack, route: string): Set<number> {
  return new Set(stack.logLines().filter((line) => line['msg'] === 'request' && line['route'] === route).map((line) => line['pid'] as number));
}

describe.skipIf(skip)('start --workers 2 with the Redis store', () => {
  let stack: CliStack;
  let browser: LoginResult;
  let primaryPid: number;

  beforeAll(async () => {
    stack = await startCliStack({ store: 'redis', args: ['--workers', '2'] });
    const cli = await stack.start();
    primaryPid = cli.child.pid!;
    browser = await stack.login();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('logs one listening line from the primary, after both workers listen', () => {
    const lines = stack.logLines();
    const listening = lines.filter((line) => line['event'] === 'listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ pid: primaryPid, workers: 2, main: stack.publicOrigin, ops: stack.opsUrl, store: 'redis' });
    const workers = lines.filter((line) => line['event'] === 'worker_listening');
    expect(new Set(workers.map((line) => line['pid']))).toHaveProperty('size', 2);
    expect(workers.map((line) => line['pid'])).not.toContain(primaryPid);
  });

  it('serves one session from two worker processes (the session lives in Redis)', async () => {
    for (let i = 0; i < 12; i += 1) {
      const res = await browser.request(`${stack.publicOrigin}/api/who?i=${i}`);
      expect(res.status).toBe(200);
      expect(res.json<{ sub: string }>().sub).toBe('demo-user');
    }
    const pids = pidsServing(stack, '/api');
    expect(pids.size).toBe(2);
    expect(pids.has(primaryPid)).toBe(false);
  });

  it('the primary answers /metrics with the workers\' counters summed, and /readyz for all of them', async () => {
    const before = await scrape(stack.opsUrl);
    for (let i = 0; i < 10; i += 1) expect((await freshGet(`${stack.publicOrigin}/auth/session`)).status).toBe(401);
    const after = await scrape(stack.opsUrl);
    const series = { route: 'auth.session', method: 'GET', status: '401' };
    expect(valueOf(after, 'tokengate_http_requests_total', series) - valueOf(before, 'tokengate_http_requests_total', series)).toBe(10);
    // A worker starved of CPU on a busy machine may print its access line a little later.
    await waitFor('access lines from both workers', async () => pidsServing(stack, 'auth.session').size === 2);
    expect(valueOf(after, 'tokengate_workers')).toBe(2);
    expect(await readyzBecomes(stack.opsUrl, 200)).toEqual({ status: 'ready' });
  });

  it('a worker that dies is restarted, and the gateway keeps serving', async () => {
    const workerPids = [...pidsServing(stack, '/api')];
    process.kill(workerPids[0]!, 'SIGKILL');
    await waitFor('the replacement worker', async () => stack.logLines().some((line) => line['event'] === 'worker_restarted'), 10_000);
    const replacement = stack.logLines().find((line) => line['event'] === 'worker_restarted')!['pid'] as number;
    expect(workerPids).not.toContain(replacement);
    const exited = stack.logLines().find((line) => line['event'] === 'worker_exited');
    expect(exited).toMatchObject({ pid: workerPids[0], signal: 'SIGKILL', exitCode: null });
    // A top-level `code` would be censored by the log redaction.
    expect(exited).not.toHaveProperty('code');
    const metrics = await scrape(stack.opsUrl);
    expect(valueOf(metrics, 'tokengate_worker_restarts_total')).toBe(1);
    expect(valueOf(metrics, 'tokengate_workers')).toBe(2);
    expect(await readyzBecomes(stack.opsUrl, 200)).toEqual({ status: 'ready' });
    for (let i = 0; i < 8; i += 1) expect((await browser.request(`${stack.publicOrigin}/api/again`)).status).toBe(200);
    expect(pidsServing(stack, '/api').has(replacement)).toBe(true);
  });

  it('SIGTERM drains every worker and the primary exits 0', async () => {
    const cli = stack.cli();
    const workerPids = new Set(stack.logLines().filter((line) => line['msg'] === 'request').map((line) => line['pid'] as number));
    const slow = browser.request(`${stack.publicOrigin}/api/slow?ms=1500`);
    await waitFor('the slow request at the upstream', async () => stack.api.requests.some((r) => r.path === '/slow' && r.sub !== undefined));
    cli.child.kill('SIGTERM');
    expect(await readyzBecomes(stack.opsUrl, 503, 2_000)).toEqual({ status: 'not_ready', failing: ['draining'] });
    expect((await slow).status).toBe(200);
    expect((await cli.exited).code).toBe(0);
    for (const pid of workerPids) expect(() => process.kill(pid, 0)).toThrow();
    expect(stack.logLines().filter((line) => line['event'] === 'shutdown_finished').length).toBeGreaterThanOrEqual(3);
  });
});

describe('start --workers: refusals and startup failures', () => {
  let stack: CliStack;

  beforeAll(async () => {
    stack = await startCliStack({ store: 'memory' });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('start --workers 2 is refused with exit 1, saying why', async () => {
    const result = await runCli(['start', '--config', stack.configFile, '--workers', '2'], { env: stack.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('2 workers cannot share the memory store: it lives inside one process');
    expect(result.stdout).not.toContain('"event":"listening"');
  });

  it('--workers 0 or a word is wrong usage (exit 2)', async () => {
    for (const value of ['0', 'many']) {
      const result = await runCli(['start', '--config', stack.configFile, '--workers', value], { env: stack.env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--workers must be a whole number of at least 1');
    }
  });

  it('workers that cannot reach Redis at startup make the whole start exit 3, saying why', async () => {
    const closed = await freePort();
    const file = stack.configFile.replace(/\.yaml$/, '-unreachable.yaml');
    const store = `store: { type: redis, redis: { url: "redis://127.0.0.1:${closed}/0", connectTimeout: 300ms, commandTimeout: 300ms } }`;
    writeFileSync(file, readFileSync(stack.configFile, 'utf8').replace('store: { type: memory }', store));
    const result = await runCli(['start', '--config', file, '--workers', '2'], { env: stack.env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('the redis store does not answer');
    expect(result.stdout).not.toContain('"event":"listening"');
  });

  it('without --workers the memory store runs in one process', async () => {
    const cli = await stack.start();
    expect(stack.logLines().find((line) => line['event'] === 'listening')).not.toHaveProperty('workers');
    expect((await cli.stop('SIGTERM')).code).toBe(0);
  });
});
