import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { openWebSocket, startWebSocketUpstream, type UpstreamSide } from './websocket-tunnel.ts';
import { waitFor } from '../support/wait.ts';

/** The periodic session check (`proxy.webSocketSessionCheck`) closes tunnels whose session idled out. */

const MINUTE = 60_000;
const clock = manualClock();
let stack: GatewayStack;
let upstream: UpstreamSide;

beforeAll(async () => {
  upstream = await startWebSocketUpstream();
  stack = await startGatewayStack({
    now: clock.now,
    proxy: { webSocketSessionCheck: '100ms' },
    routes: () => [{ prefix: '/ws', upstream: upstream.url }],
  });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

describe('WebSocket tunnels end with an idle session', () => {
  it('the idle timeout closes the tunnel with 1008 at the next session check; the upstream side closes', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    const cookie = await browser.jar.getCookieString(stack.url);
    const client = await openWebSocket(`${stack.url}/ws/chat`, { cookie, origin: stack.config.publicOrigin });
    await waitFor('upstream handshake', () => upstream.sockets.length === 1, 5000);
    // Several checks pass while the session lives.
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(client.closedAt).toBeUndefined();
    clock.advance(31 * MINUTE);
    expect(await client.closed()).toMatchObject({ code: 1008, reason: 'session ended' });
    await upstream.closed(0);
  });
});
