import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import type { LoginResult } from '../support/login.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { freshGet, readyzBecomes, startCliStack, type CliStack } from './support/cli-stack.ts';

/**
 * Shutdown of `tokengate start` as operators trigger it: a signal to the primary alone, a
 * process-group signal (Ctrl-C, `timeout`, systemd, Kubernetes), with slow requests in flight
 * and with keep-alive clients still sending; a signal while the CLI is still loading; a second
 * `start` while the first drains. Real processes, the demo provider and sample API, real Redis.
 */

const SLOW_IMPORT = new URL('../support/slow-import.ts', import.meta.url).pathname;
const skip = skipRedisSuite('cluster shutdown', 'redis-server');

let stack: CliStack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function workerPids(current: CliStack): number[] {
  return current.logLines().filter((line) => line['event'] === 'worker_listening').map((line) => line['pid'] as number);
}

/**
 * `count` slow requests in flight (fresh connections, so both workers get some). Resolves once
 * the upstream holds them all, with `settled`: their statuses (or error messages).
 */
async function slowRequests(current: CliStack, browser: LoginResult, count: number, ms: number): Promise<{ settled: Promise<Array<number | string>> }> {
  const before = current.api.requests.filter((r) => r.path === '/slow').length;
  const all = Promise.all(
    Array.from({ length: count }, (_, index) =>
      browser.request(`${current.publicOrigin}/api/slow?ms=${ms}&i=${index}`, { timeoutMs: 30_000 }).then(
        (res) => res.status,
        (err: Error) => err.message,
      ),
    ),
  );
  await waitFor(`${count} slow requests at the upstream`, async () => current.api.requests.filter((r) => r.path === '/slow').length - before >= count, 10_000);
  return { settled: all };
}

function events(current: CliStack): unknown[] {
  return current.logLines().map((line) => line['event']);
}

describe.skipIf(skip)('start --workers 2: every slow request in flight completes whoever gets the signal first', () => {
  it('SIGTERM to the primary, then each worker gets its own SIGTERM during the drain: 8 of 8 answer 200, exit 0', async () => {
    stack = await startCliStack({ store: 'redis', args: ['--workers', '2'], grace: '15s', drainDelay: '200ms' });
    const cli = await stack.start();
    const browser = await stack.login();
    const workers = workerPids(stack);
    expect(workers).toHaveLength(2);
    const { settled: statuses } = await slowRequests(stack, browser, 8, 2_500);

    cli.child.kill('SIGTERM');
    const current = stack;
    await waitFor('both workers draining', async () => current.logLines().filter((line) => line['event'] === 'shutdown_started' && workers.includes(line['pid'] as number)).length === 2);
    for (const pid of workers) process.kill(pid, 'SIGTERM');

    expect(await statuses).toEqual(Array(8).fill(200));
    expect((await cli.exited).code).toBe(0);
    expect(events(stack)).not.toContain('shutdown_forced');
  });

  it('SIGTERM to the process group: 8 of 8 answer 200, exit 0', async () => {
    stack = await startCliStack({ store: 'redis', args: ['--workers', '2'], grace: '15s', drainDelay: '200ms', detached: true });
    const cli = await stack.start();
    const browser = await stack.login();
    const { settled: statuses } = await slowRequests(stack, browser, 8, 2_500);

    process.kill(-cli.child.pid!, 'SIGTERM');

    expect(await statuses).toEqual(Array(8).fill(200));
    expect((await cli.exited).code).toBe(0);
    expect(events(stack)).not.toContain('shutdown_forced');
  });

  it('a second signal to the primary during the drain ends the workers and the primary at once', async () => {
    stack = await startCliStack({ store: 'redis', args: ['--workers', '2'], grace: '20s', drainDelay: '200ms' });
    const cli = await stack.start();
    const browser = await stack.login();
    const workers = workerPids(stack);
    const { settled: statuses } = await slowRequests(stack, browser, 2, 8_000);
    cli.child.kill('SIGTERM');
    await readyzBecomes(stack.opsUrl, 503, 2_000);
    const signalled = Date.now();
    cli.child.kill('SIGINT');

    expect((await cli.exited).code).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(2_000);
    await waitFor('the workers gone', async () => workers.every((pid) => !alive(pid)), 3_000);
    const settled = await statuses;
    expect(settled.every((status) => typeof status === 'string')).toBe(true);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A keep-alive HTTP/1.1 connection that sends GETs one at a time and reads each whole response. */
async function keepAliveConnection(url: string): Promise<{ get(path: string): Promise<{ status: number; headers: string }>; ended: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let buffered = '';
  let waiter: (() => void) | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    waiter?.();
  });
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    ended,
    async get(path) {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
      for (;;) {
        const head = buffered.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(buffered.slice(0, Math.max(head, 0)))?.[1];
        if (head >= 0 && length !== undefined && buffered.length >= head + 4 + Number(length)) {
          const response = buffered.slice(0, head + 4 + Number(length));
          buffered = buffered.slice(response.length);
          return { status: Number(response.slice(9, 12)), headers: response.slice(0, head).toLowerCase() };
        }
        await new Promise<void>((resolve, reject) => {
          waiter = resolve;
          socket.once('close', () => reject(new Error('connection closed before the response')));
        });
      }
    },
  };
}

describe('the drain after SIGTERM (shutdown.drainDelay)', () => {
  it('a request on an open keep-alive connection is answered with Connection: close, new connections are taken, then refused', async () => {
    stack = await startCliStack({ grace: '10s', drainDelay: '1500ms' });
    const cli = await stack.start();
    const kept = await keepAliveConnection(stack.publicOrigin);
    const first = await kept.get('/auth/session');
    expect(first.status).toBe(401);
    expect(first.headers).not.toContain('connection: close');

    cli.child.kill('SIGTERM');
    expect(await readyzBecomes(stack.opsUrl, 503, 1_000)).toEqual({ status: 'not_ready', failing: ['draining'] });
    // The load balancer has not noticed yet: this client still sends on its connection.
    const during = await kept.get('/auth/session');
    expect(during.status).toBe(401);
    expect(during.headers).toContain('connection: close');
    await kept.ended;
    const fresh = await freshGet(`${stack.publicOrigin}/auth/session`);
    expect(fresh.status).toBe(401);

    const origin = stack.publicOrigin;
    await waitFor('the listener closed', async () => {
      try {
        await freshGet(`${origin}/auth/session`);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      }
    }, 5_000);
    expect((await cli.exited).code).toBe(0);
  });
});

describe('signals while starting, and a second start while the first drains', () => {
  it('SIGTERM while the CLI is still loading its modules: a graceful shutdown, exit 0 (not 143)', async () => {
    stack = await startCliStack({ env: { NODE_OPTIONS: `--import ${SLOW_IMPORT}`, TOKENGATE_TEST_SLOW_IMPORT: 'src/cli/main.ts' } });
    const starting = stack.start().catch((err: unknown) => err);
    const cli = stack.cli();
    await cli.waitFor(/loading src\/cli\/main\.ts/, 20_000);
    cli.child.kill('SIGTERM');
    const result = await cli.exited;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(events(stack)).toContain('shutdown_finished');
    await starting;
  });

  it('a second start while the first drains exits 3 and names the setting to change', async () => {
    stack = await startCliStack({ grace: '10s', drainDelay: '0s' });
    const cli = await stack.start();
    const browser = await stack.login();
    const { settled: statuses } = await slowRequests(stack, browser, 1, 6_000);
    cli.child.kill('SIGTERM');
    await readyzBecomes(stack.opsUrl, 503, 2_000);

    const second = await runCli(['start', '--config', stack.configFile], { env: stack.env });
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/EADDRINUSE: the address is in use \(is another Tokengate still running or draining there\?\); stop it, or give this one another port with (ops\.port|listen\.port)/);
    expect(await statuses).toEqual([200]);
    expect((await cli.exited).code).toBe(0);
  });
});
