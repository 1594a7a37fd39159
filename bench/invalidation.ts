import { request } from 'node:http';
import type { ChildHandle } from './child.ts';
import { API_PATH } from './gateway-config.ts';
import { summarize } from './latency.ts';
import type { InvalidationResult } from './results.ts';
import { apiHeaders, loginForLoad } from './session.ts';

/**
 * The near cache's bound, seen from outside: two replicas (A, B) on one Redis. Each trial logs a
 * session in through A, lets B serve it twice (so B holds it in its near cache), logs out on A,
 * and sends B one request the moment A's logout has answered. That request must be refused (401);
 * the time from A's answer to B's is the delay a user could see. `stale` counts trials where B
 * still answered 200.
 */
export async function measureInvalidation(a: ChildHandle, b: ChildHandle, trials: number): Promise<InvalidationResult> {
  const delays: number[] = [];
  let stale = 0;
  for (let trial = 0; trial < trials; trial += 1) {
    const { cookie } = await loginForLoad(a.url);
    for (let warm = 0; warm < 2; warm += 1) {
      const status = await send(`${b.url}${API_PATH}`, 'GET', apiHeaders(cookie));
      if (status !== 200) throw new Error(`replica B answered ${status} for a fresh session`);
    }
    const logout = await send(`${a.url}/auth/logout`, 'POST', { ...apiHeaders(cookie), origin: new URL(a.url).origin, 'content-length': '0' });
    if (logout !== 200) throw new Error(`logout on replica A answered ${logout}`);
    const loggedOutAt = performance.now();
    const status = await send(`${b.url}${API_PATH}`, 'GET', apiHeaders(cookie));
    delays.push(performance.now() - loggedOutAt);
    if (status === 200) stale += 1;
  }
  return { trials, stale, delayMs: summarize(delays) };
}

function send(url: string, method: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${new URL(url).pathname} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
