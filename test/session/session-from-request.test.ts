import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Keyring, generateKey } from '../../src/crypto/keyring.ts';
import { GatewayError } from '../../src/errors.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { CookieKeys } from '../../src/session/cookie-keys.ts';
import { cookieKeys, createCookies } from '../../src/session/cookies.ts';
import { newSessionId } from '../../src/session/session-id.ts';
import { sessionFromRequest, type RequestSessionBundle } from '../../src/session/session-from-request.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import type { SessionRecord } from '../../src/store/types.ts';
import { sealTokenSet } from '../../src/tokens/token-set.ts';
import { LeakWatch } from '../auth/helpers/leak-watch.ts';
import { testLogger } from '../auth/helpers/logger.ts';
import { countingStore } from '../auth/helpers/store.ts';

/**
 * The session of a raw request (what a WebSocket handshake has): a real HTTP server on port 0
 * whose handler reads the session from the request with `sessionFromRequest` and answers what
 * it found, over a real memory store seen through a call counter.
 */

const MINUTE = 60_000;
const key = generateKey();
const oldKey = generateKey();
const clock = { now: Date.UTC(2026, 0, 1) };
const memory = new MemoryStore({ now: () => clock.now });
const counted = countingStore(memory);
const watch = new LeakWatch();
const keyring = new Keyring([{ kid: 'k1', key: generateKey() }]);
const cookies = createCookies({ publicOrigin: 'http://127.0.0.1:1', session: { cookieName: 'tg_session', idleTimeout: 30 * MINUTE, absoluteTimeout: 60 * MINUTE, loginTimeout: MINUTE } }, cookieKeys([key, oldKey]));
const read = sessionFromRequest({ cookie: cookies.session, store: counted.store, idleTimeoutMs: 30 * MINUTE, now: () => clock.now, logger: testLogger(watch) });

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    read(req).then(
      (found: RequestSessionBundle | null) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ found: found && { sid: found.sid, sub: found.session.sub, ver: found.tokens?.ver } })),
      (err: unknown) => res.writeHead(503).end(JSON.stringify({ code: err instanceof GatewayError ? err.code : 'other' })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await memory.close();
});

beforeEach(() => {
  counted.calls.length = 0;
});

async function createSession(sub = 'alice'): Promise<string> {
  const sid = newSessionId();
  const session: SessionRecord = { sid, provider: 'corp', sub, claims: {}, createdAt: clock.now, absoluteExpiresAt: clock.now + 60 * MINUTE };
  await memory.createSession(session, sealTokenSet(keyring, sid, new ProviderTokens({ accessToken: `at-${sid}`, expiresIn: 3600 }), clock.now), 30 * MINUTE);
  return sid;
}

function cookieFor(sid: string, signingKey = key): string {
  return `other=1; tg_session=${sid}; tg_session.sig=${new CookieKeys([signingKey]).sign(`tg_session=${sid}`)}`;
}

async function ask(cookie?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, cookie === undefined ? {} : { headers: { cookie } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the session of a raw request', () => {
  it('loads the session and its token set from a signed cookie, in one store call', async () => {
    const sid = await createSession();
    expect(await ask(cookieFor(sid))).toEqual({ status: 200, body: { found: { sid, sub: 'alice', ver: 1 } } });
    expect(counted.calls).toEqual(['loadSession']);
  });

  it('accepts a cookie signed with an older key', async () => {
    const sid = await createSession('bob');
    expect((await ask(cookieFor(sid, oldKey))).body).toEqual({ found: { sid, sub: 'bob', ver: 1 } });
  });

  it('finds nothing without a cookie, and never asks the store', async () => {
    expect((await ask()).body).toEqual({ found: null });
    expect(counted.calls).toEqual([]);
  });

  it('finds nothing for a forged cookie, never asks the store, and logs tampered_cookie', async () => {
    const sid = await createSession();
    const before = watch.logLines.length;
    for (const cookie of [`tg_session=${sid}`, cookieFor(sid, generateKey())]) expect((await ask(cookie)).body).toEqual({ found: null });
    expect(counted.calls).toEqual([]);
    expect(watch.logLines.slice(before).filter((line) => line.includes('tampered_cookie'))).toHaveLength(2);
  });

  it('finds nothing for an unknown sid or a session past its absolute expiry', async () => {
    expect((await ask(cookieFor(newSessionId()))).body).toEqual({ found: null });
    const sid = await createSession();
    clock.now += 25 * MINUTE;
    expect((await ask(cookieFor(sid))).body).toMatchObject({ found: { sid } });
    clock.now += 25 * MINUTE;
    expect((await ask(cookieFor(sid))).body).toMatchObject({ found: { sid } });
    clock.now += 11 * MINUTE;
    expect((await ask(cookieFor(sid))).body).toEqual({ found: null });
  });

  it('rejects with STORE_UNAVAILABLE when the store fails, never "no session"', async () => {
    const sid = await createSession();
    const closed = new MemoryStore();
    await closed.close();
    const failing = sessionFromRequest({ cookie: cookies.session, store: closed, idleTimeoutMs: MINUTE, now: () => clock.now, logger: testLogger(watch) });
    const req = { headers: { cookie: cookieFor(sid) } } as IncomingMessage;
    await expect(failing(req)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
