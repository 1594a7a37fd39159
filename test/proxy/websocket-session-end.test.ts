import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SessionList } from '../../src/auth/list-sessions.ts';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { sidOf, storedTokens } from './session-tokens.ts';
import { openWebSocket, serverFrame, startWebSocketUpstream, type UpstreamSide } from './websocket-tunnel.ts';
import { waitFor } from '../support/wait.ts';

/**
 * An open WebSocket tunnel ends with its session: the client gets a close frame 1008 with a short
 * reason, then its socket closes, and the upstream sees its side close. (The idle timeout, found
 * by the periodic session check, is in websocket-idle.test.ts.)
 */

const clock = manualClock();
let stack: GatewayStack;
let upstream: UpstreamSide;

beforeAll(async () => {
  upstream = await startWebSocketUpstream();
  stack = await startGatewayStack({
    now: clock.now,
    // Far beyond every bound here: what closes a tunnel in these tests is the session's end itself.
    proxy: { webSocketSessionCheck: '1h' },
    routes: () => [
      { prefix: '/ws', upstream: upstream.url },
      { prefix: '/short', upstream: upstream.url, websocket: { maxTokenAge: '300ms' } },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  clock.set(Date.now());
});

async function loggedInTunnel(path = '/ws/chat') {
  const browser = await stack.login();
  const cookie = await browser.jar.getCookieString(stack.url);
  const index = upstream.sockets.length;
  const client = await openWebSocket(`${stack.url}${path}`, { cookie, origin: stack.config.publicOrigin });
  await waitFor('upstream handshake', () => upstream.sockets.length > index, 5000);
  return { browser, client, index };
}

describe('WebSocket tunnels end with their session', () => {
  it('logout closes the tunnel with 1008 "session ended"; the client socket and the upstream side close', async () => {
    const { browser, client, index } = await loggedInTunnel();
    upstream.sockets[index]!.write(serverFrame(0x1, Buffer.from('hello')));
    await waitFor('first frame', () => client.frames.length === 1, 5000);
    expect((await browser.request(`${stack.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
    const closed = await client.closed();
    expect(closed).toMatchObject({ code: 1008, reason: 'session ended' });
    expect(client.frames.map((frame) => frame.opcode)).toEqual([0x1, 0x8]);
    await upstream.closed(index);
  });

  it('a frame the upstream is in the middle of is delivered whole before the close frame', async () => {
    const { browser, client, index } = await loggedInTunnel();
    const payload = Buffer.alloc(1000, 0x61);
    const frame = serverFrame(0x2, payload);
    const side = upstream.sockets[index]!;
    side.write(frame.subarray(0, 300));
    // The gateway has forwarded the first part when the client holds 300 bytes it cannot parse yet.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logout = browser.request(`${stack.url}/auth/logout`, { method: 'POST' });
    expect((await logout).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    side.write(Buffer.concat([frame.subarray(300), serverFrame(0x1, Buffer.from('after'))]));
    const closed = await client.closed();
    expect(closed).toMatchObject({ code: 1008, reason: 'session ended' });
    expect(client.frames.map((f) => f.opcode)).toEqual([0x2, 0x8]);
    expect(client.frames[0]!.payload.equals(payload)).toBe(true);
    await upstream.closed(index);
  });

  it('ending a listed session (POST /auth/sessions/<handle>/logout) from another session closes its tunnel', async () => {
    const { client, index } = await loggedInTunnel();
    const other = await stack.login();
    const list = (await other.request(`${stack.url}/auth/sessions`)).json<SessionList>();
    const target = list.sessions.filter((entry) => !entry.current);
    expect(target.length).toBeGreaterThan(0);
    for (const entry of target) expect((await other.request(`${stack.url}/auth/sessions/${entry.handle}/logout`, { method: 'POST' })).status).toBe(200);
    expect(await client.closed()).toMatchObject({ code: 1008, reason: 'session ended' });
    await upstream.closed(index);
  });

  it('logout everywhere closes the tunnels of every session of the user', async () => {
    const first = await loggedInTunnel();
    const second = await loggedInTunnel();
    expect((await second.browser.request(`${stack.url}/auth/logout-everywhere`, { method: 'POST' })).status).toBe(200);
    expect(await first.client.closed()).toMatchObject({ code: 1008, reason: 'session ended' });
    expect(await second.client.closed()).toMatchObject({ code: 1008, reason: 'session ended' });
    await upstream.closed(first.index);
    await upstream.closed(second.index);
  });

  it('a refresh that finds the grant revoked at the provider ends the session and closes its tunnel', async () => {
    const { browser, client, index } = await loggedInTunnel();
    const { gateway } = stack.instances[0]!;
    const sid = await sidOf(browser, stack);
    const tokens = await storedTokens(stack, browser);
    expect(await stack.op.revokeGrantOf(tokens!.refreshToken!)).toBe(true);
    await expect(gateway.tokens.forceRefresh(sid, (await gateway.store.getTokens(sid))!.ver)).rejects.toMatchObject({ code: 'REAUTHENTICATION_REQUIRED' });
    expect(await client.closed()).toMatchObject({ code: 1008, reason: 'session ended' });
    await upstream.closed(index);
  });

  it('a session that ends while the upstream has not yet answered the handshake closes the tunnel as it opens', async () => {
    const browser = await stack.login();
    const cookie = await browser.jar.getCookieString(stack.url);
    const index = upstream.sockets.length;
    upstream.hold = true;
    try {
      const opening = openWebSocket(`${stack.url}/ws/chat`, { cookie, origin: stack.config.publicOrigin });
      await waitFor('upstream handshake', () => upstream.sockets.length > index, 5000);
      expect((await browser.request(`${stack.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
      upstream.release();
      const client = await opening;
      expect(await client.closed()).toMatchObject({ code: 1008, reason: 'session ended' });
      await upstream.closed(index);
    } finally {
      upstream.hold = false;
      upstream.release();
    }
  });

  it('a route with websocket.maxTokenAge closes the tunnel with 1008 "token expired" once it is that old', async () => {
    const opened = performance.now();
    const { client, index } = await loggedInTunnel('/short/chat');
    const closed = await client.closed();
    expect(closed).toMatchObject({ code: 1008, reason: 'token expired' });
    expect(closed.at - opened).toBeGreaterThanOrEqual(250);
    await upstream.closed(index);
  });

  it('a tunnel of another session stays open', async () => {
    const first = await loggedInTunnel();
    const second = await loggedInTunnel();
    expect((await first.browser.request(`${stack.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
    await first.client.closed();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(second.client.closedAt).toBeUndefined();
    upstream.sockets[second.index]!.write(serverFrame(0x1, Buffer.from('still here')));
    await waitFor('frame on the other tunnel', () => second.client.frames.length === 1, 5000);
    second.client.socket.destroy();
  });
});
