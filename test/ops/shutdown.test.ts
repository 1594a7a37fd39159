import { afterEach, describe, expect, it } from 'vitest';
import { rawCommand, skipRedisSuite } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { freshGet, readyzBecomes, startCliStack, type CliStack } from './support/cli-stack.ts';

/**
 * Graceful shutdown of `tokengate start`, as a child process with a slow upstream request in
 * flight when SIGTERM arrives (the sample API's /slow?ms= answers after a delay).
 */

let stack: CliStack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Resolves once the sample API holds a /slow request from the gateway (authorized, now waiting). */
async function slowRequestArrived(current: CliStack): Promise<void> {
  await waitFor('the slow request at the upstream', async () => current.api.requests.some((r) => r.path === '/slow' && r.sub !== undefined));
}

function expectRefused(promise: Promise<unknown>): Promise<void> {
  return expect(promise).rejects.toMatchObject({ code: 'ECONNREFUSED' });
}

describe('SIGTERM with a request in flight', () => {
  it('the request completes with 200, /readyz turns 503 while draining, new connections are refused, the process exits 0', async () => {
    stack = await startCliStack({ grace: '10s', drainDelay: '0s' });
    const cli = await stack.start();
    const browser = await stack.login();
    expect(await readyzBecomes(stack.opsUrl, 200)).toEqual({ status: 'ready' });

    // fetch keeps its connection alive after the response: the gateway must close it once idle.
    const cookie = await browser.jar.getCookieString(stack.publicOrigin);
    const slow = fetch(`${stack.publicOrigin}/api/slow?ms=2500`, { headers: { cookie, 'x-csrf': '1' } });
    await slowRequestArrived(stack);
    const signalled = Date.now();
    cli.child.kill('SIGTERM');

    expect(await readyzBecomes(stack.opsUrl, 503, 2_000)).toEqual({ status: 'not_ready', failing: ['draining'] });
    await expectRefused(freshGet(`${stack.publicOrigin}/auth/session`));

    const response = await slow;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { path: string }).path).toBe('/slow');
    const result = await cli.exited;
    expect(result.code).toBe(0);
    // Well before the 5 s keep-alive timeout would have let the connection go.
    expect(Date.now() - signalled).toBeLessThan(4_500);

    const events = stack.logLines().map((line) => line['event']);
    expect(events).toContain('draining_in_flight');
    expect(events).toContain('shutdown_finished');
    expect(events).not.toContain('grace_period_over');
    const access = stack.logLines().find((line) => line['msg'] === 'request' && line['route'] === '/api');
    expect(access).toMatchObject({ status: 200, method: 'GET' });
  });

  it('past shutdown.grace the request is cut off and the process still exits 0', async () => {
    stack = await startCliStack({ grace: '600ms' });
    const cli = await stack.start();
    const browser = await stack.login();
    const slow = browser.request(`${stack.publicOrigin}/api/slow?ms=8000`);
    await slowRequestArrived(stack);
    const signalled = Date.now();
    cli.child.kill('SIGTERM');

    await expect(slow).rejects.toThrow();
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(4_000);
    expect(stack.logLines().map((line) => line['event'])).toContain('grace_period_over');
  });

  it('a second signal exits at once, with a non-zero status', async () => {
    stack = await startCliStack({ grace: '20s' });
    const cli = await stack.start();
    const browser = await stack.login();
    const slow = browser.request(`${stack.publicOrigin}/api/slow?ms=8000`).catch((err: unknown) => err);
    await slowRequestArrived(stack);
    cli.child.kill('SIGTERM');
    await readyzBecomes(stack.opsUrl, 503, 2_000);
    const signalled = Date.now();
    cli.child.kill('SIGINT');

    const result = await cli.exited;
    expect(result.code).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(2_000);
    expect(await slow).toBeInstanceOf(Error);
  });

  it('an idle keep-alive connection does not hold the process', async () => {
    stack = await startCliStack({ grace: '20s' });
    const cli = await stack.start();
    // fetch keeps its connection open in a pool after the response.
    expect((await fetch(`${stack.publicOrigin}/auth/session`)).status).toBe(401);
    const signalled = Date.now();
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3_000);
  });
});

const skipRedis = skipRedisSuite('graceful shutdown with a refresh in flight', 'redis-server');

describe.skipIf(skipRedis)('SIGTERM with a token refresh in flight (Redis store)', () => {
  /** How many refresh-lock keys Redis holds. */
  async function lockKeys(current: CliStack): Promise<number> {
    const reply = await rawCommand(current.redis!.port, ['EVAL', "return #redis.call('KEYS', ARGV[1])", '0', '*lock*']);
    return Number(/^:(\d+)/.exec(reply)?.[1] ?? Number.NaN);
  }

  it('the refresh finishes and is written, its lock is released, Redis is closed, exit 0', async () => {
    // A 4-second token is due for refresh after 2 s (half its lifetime).
    stack = await startCliStack({ store: 'redis', accessTokenTtl: 4, grace: '10s' });
    const cli = await stack.start();
    const browser = await stack.login();
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    stack.op.resetStats();
    stack.op.setTokenEndpointDelay(1_500);

    const call = browser.request(`${stack.publicOrigin}/api/during-refresh`);
    await waitFor('the refresh lock', async () => (await lockKeys(stack!)) === 1);
    cli.child.kill('SIGTERM');

    const response = await call;
    expect(response.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect((await cli.exited).code).toBe(0);
    expect(await lockKeys(stack)).toBe(0);
    const clients = await rawCommand(stack.redis!.port, ['CLIENT', 'LIST']);
    expect(clients).not.toContain('name=tokengate');
    const access = stack.logLines().find((line) => line['msg'] === 'request' && line['route'] === '/api');
    expect(access).toMatchObject({ status: 200, refreshOutcome: 'success' });
  });

  it('a refresh whose provider call outlives the grace period is aborted at exit and its lock parked for one lease, not freed', async () => {
    stack = await startCliStack({ store: 'redis', accessTokenTtl: 4, grace: '500ms' });
    const cli = await stack.start();
    const browser = await stack.login();
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    stack.op.setTokenEndpointDelay(5_000);

    const call = browser.request(`${stack.publicOrigin}/api/during-refresh`).catch((err: unknown) => err);
    await waitFor('the refresh lock', async () => (await lockKeys(stack!)) === 1);
    cli.child.kill('SIGTERM');

    expect((await cli.exited).code).toBe(0);
    // The provider may still redeem the refresh token that call carried (it does, after its
    // delay): no replica may send the same one again before one more lease (tokens.lockLease,
    // 10 s by default) has passed. The lock then lapses by itself.
    expect(await lockKeys(stack)).toBe(1);
    const ttl = Number(/^:(-?\d+)/.exec(await rawCommand(stack.redis!.port, ['EVAL', "return redis.call('PTTL', redis.call('KEYS', ARGV[1])[1])", '0', '*lock*']))?.[1]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
    expect(stack.logLines().map((line) => line['event'])).toContain('refresh_lock_parked');
    expect(await call).toBeInstanceOf(Error);
  });
});
