import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { sidOf } from './session-tokens.ts';
import { openWebSocket, startWebSocketUpstream, type UpstreamSide } from './websocket-tunnel.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Two gateway instances on one real Redis: a logout on A closes the tunnels B holds for that
 * session, heard on the near cache's invalidation channel (not at B's periodic check, which is
 * set far beyond the bound here). A refresh of the session on A, also announced there, does not.
 */

const TRIALS = 20;
let stack: GatewayStack;
let upstream: UpstreamSide;

beforeAll(async () => {
  upstream = await startWebSocketUpstream();
  stack = await startGatewayStack({
    store: 'redis',
    instances: 2,
    proxy: { webSocketSessionCheck: '1h' },
    routes: () => [{ prefix: '/ws', upstream: upstream.url }],
  });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

describe('WebSocket tunnels end with their session on every replica', () => {
  it(`a logout on A closes the tunnel on B with 1008 within 200 ms (${TRIALS} trials), and the upstream side closes`, async () => {
    const [a, b] = stack.instances;
    const latencies: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const browser = await stack.login();
      const cookie = await browser.jar.getCookieString(a!.url);
      const index = upstream.sockets.length;
      const client = await openWebSocket(`${b!.url}/ws/chat`, { cookie, origin: stack.config.publicOrigin });
      await waitFor('upstream handshake', () => upstream.sockets.length > index, 5000);
      const started = performance.now();
      expect((await browser.request(`${a!.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
      const closed = await client.closed();
      expect(closed).toMatchObject({ code: 1008, reason: 'session ended' });
      latencies.push(closed.at - started);
      await upstream.closed(index);
    }
    latencies.sort((x, y) => x - y);
    const p50 = latencies[Math.floor(TRIALS / 2)]!;
    const max = latencies[TRIALS - 1]!;
    console.info(`cross-replica WebSocket close after logout (logout request start to client close), ms: p50 ${p50.toFixed(1)} max ${max.toFixed(1)}`);
    expect(max).toBeLessThan(200);
  });

  it('a refresh of the session on A (announced to B too) leaves the tunnel on B open', async () => {
    const [a, b] = stack.instances;
    const browser = await stack.login();
    const cookie = await browser.jar.getCookieString(a!.url);
    const client = await openWebSocket(`${b!.url}/ws/chat`, { cookie, origin: stack.config.publicOrigin });
    const sid = await sidOf(browser, stack);
    const before = await a!.gateway.store.getTokens(sid);
    await a!.gateway.tokens.forceRefresh(sid, before!.ver);
    expect((await a!.gateway.store.getTokens(sid))!.ver).toBeGreaterThan(before!.ver);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.closedAt).toBeUndefined();
    client.socket.destroy();
  });
});
