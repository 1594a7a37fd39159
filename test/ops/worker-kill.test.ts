import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipRedisSuite } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { startCliStack, type CliStack } from './support/cli-stack.ts';

/**
 * `kill -9` of one worker of `start --workers 2` under load. With node:cluster's round-robin
 * scheduling the primary accepts each connection and hands it to a worker; one handed to the
 * worker as it died used to stay open, unanswered, until the client gave up. Now every request
 * gets an answer (or a prompt connection error for the requests the dead worker was serving).
 */

const skip = skipRedisSuite('kill -9 of a worker', 'redis-server');

interface Outcome {
  status?: number;
  code?: string;
  error?: string;
  ms: number;
}

/** One GET on a fresh connection, with a client timeout of `timeoutMs`. */
function get(url: string, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const code = res.statusCode === 503 ? (JSON.parse(body) as { code?: string }).code : undefined;
        resolve({ status: res.statusCode ?? 0, ...(code ? { code } : {}), ms: performance.now() - started });
      });
      res.on('error', (err) => resolve({ error: err.message, ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, ms: performance.now() - started }));
    req.end();
  });
}

describe.skipIf(skip)('kill -9 of a worker under load (start --workers 2)', () => {
  let stack: CliStack;

  beforeAll(async () => {
    stack = await startCliStack({ store: 'redis', args: ['--workers', '2'] });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('every request is answered or fails at once: none waits for the client timeout', async () => {
    const victims = stack.logLines().filter((line) => line['event'] === 'worker_listening').map((line) => line['pid'] as number);
    const outcomes: Outcome[] = [];
    const until = performance.now() + 2_500;
    const loops = Array.from({ length: 24 }, async () => {
      while (performance.now() < until) outcomes.push(await get(`${stack.publicOrigin}/auth/session`, 5_000));
    });
    await new Promise((resolve) => setTimeout(resolve, 800));
    process.kill(victims[0]!, 'SIGKILL');
    await Promise.all(loops);

    const unanswered = outcomes.filter((outcome) => outcome.error === 'no answer');
    expect(unanswered).toEqual([]);
    expect(Math.max(...outcomes.map((outcome) => outcome.ms))).toBeLessThan(4_000);
    expect(outcomes.filter((outcome) => outcome.status === 401).length).toBeGreaterThan(100);
    // Anything else is a 503 WORKER_EXITED (a connection handed to the dying worker) or a reset
    // of a request the worker was serving when it died.
    for (const outcome of outcomes.filter((item) => item.status !== 401)) {
      if (outcome.status !== undefined) expect(outcome).toMatchObject({ status: 503, code: 'WORKER_EXITED' });
      else expect(outcome.error).toMatch(/ECONNRESET|socket hang up/);
    }
    await waitFor('the replacement worker', async () => stack.logLines().some((line) => line['event'] === 'worker_restarted'), 10_000);
  }, 30_000);
});
