import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipRedisSuite } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { openWebSocket, startWebSocketUpstream, type UpstreamSide } from '../proxy/websocket-tunnel.ts';
import { startCliStack, type CliStack } from './support/cli-stack.ts';

/**
 * Two `tokengate start` processes (A and B) on one real redis-server with the same keys, as
 * replicas behind a load balancer: a browser logs in through A, opens a WebSocket through B to a
 * real WebSocket upstream, then logs out on A. B hears the end on the Redis invalidation channel
 * (its periodic session check is set far beyond the bound) and closes the client with 1008 and
 * its upstream side.
 */

const TRIALS = 10;
const BOUND_MS = 200;
const skip = skipRedisSuite('WebSocket close across gateway processes', 'redis-server');

let stack: CliStack;
let upstream: UpstreamSide;
let bUrl: string;

beforeAll(async () => {
  if (skip) return;
  upstream = await startWebSocketUpstream();
  stack = await startCliStack({
    store: 'redis',
    extraRoutes: [`{ prefix: /ws, upstream: ${upstream.url}, websocket: true }`],
    extraConfig: 'proxy: { webSocketSessionCheck: 1h }',
  });
  await stack.start();
  bUrl = (await stack.startReplica()).url;
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

describe.skipIf(skip)('WebSocket tunnels end with their session across gateway processes', () => {
  it(`a logout on process A closes the tunnel on process B with 1008 within ${BOUND_MS} ms of A's answer (${TRIALS} trials), and the upstream sees its side close`, async () => {
    const a = stack.publicOrigin;
    const afterAnswer: number[] = [];
    const afterStart: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const browser = await stack.login();
      expect(browser.finalUrl.startsWith(a)).toBe(true);
      const cookie = await browser.jar.getCookieString(a);
      const index = upstream.sockets.length;
      const client = await openWebSocket(`${bUrl}/ws/chat`, { cookie, origin: a });
      await waitFor('upstream handshake', () => upstream.sockets.length > index, 5000);
      // The tunnel through B is live before the logout: a session B accepted.
      expect(client.closedAt).toBeUndefined();

      const started = performance.now();
      const logout = await browser.request(`${a}/auth/logout`, { method: 'POST' });
      const answered = performance.now();
      expect(logout.status).toBe(200);

      const closed = await client.closed(5000);
      expect(closed).toMatchObject({ code: 1008, reason: 'session ended' });
      afterAnswer.push(closed.at - answered);
      afterStart.push(closed.at - started);
      await upstream.closed(index, 5000);
    }
    afterAnswer.sort((x, y) => x - y);
    afterStart.sort((x, y) => x - y);
    console.info(
      `cross-process WebSocket close after logout, ms (${TRIALS} trials): from A's logout answer to B's client close p50 ${percentile(afterAnswer, 0.5).toFixed(1)} max ${afterAnswer.at(-1)!.toFixed(1)}; from the logout request start p50 ${percentile(afterStart, 0.5).toFixed(1)} max ${afterStart.at(-1)!.toFixed(1)}`,
    );
    expect(afterAnswer.at(-1)!).toBeLessThan(BOUND_MS);
  }, 120_000);
});
