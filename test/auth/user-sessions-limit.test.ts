import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LISTED, type SessionList } from '../../src/auth/list-sessions.ts';
import { SessionHandles } from '../../src/auth/session-handle.ts';
import { newSessionId } from '../../src/session/session-id.ts';
import { DEMO_USER } from '../../demo/op.ts';
import type { LoginResult } from '../support/login.ts';
import { PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * Tokengate does not cap sessions per user, so the list is capped: a user with more than
 * MAX_LISTED sessions sees the current one and MAX_LISTED - 1 others, and `truncated: true`.
 * A session left out of the list can still be ended by its handle.
 */

const EXTRA = MAX_LISTED + 5;
let f: OidcFixture;
let browser: LoginResult;
const extraSids: string[] = [];

beforeAll(async () => {
  f = await startOidcFixture({ store: 'memory' });
  browser = await f.login();
  const now = Date.now();
  for (let index = 0; index < EXTRA; index += 1) {
    const sid = newSessionId();
    extraSids.push(sid);
    // Older sessions, last used long ago: the real login is the most recent.
    await f.gateway.store.createSession(
      { sid, provider: PROVIDER_ID, sub: DEMO_USER.sub, claims: {}, createdAt: now - 60_000, absoluteExpiresAt: now + 3_600_000, device: 'Firefox on Linux' },
      { accessToken: 'v1.t1.x.y', obtainedAt: now, tokenType: 'Bearer' },
      60_000,
    );
  }
});

afterAll(async () => {
  await f?.close();
});

describe('a user with more sessions than the list shows', () => {
  it(`lists ${MAX_LISTED}, the current one first, and says there are more`, async () => {
    const response = await browser.request(`${f.origin}/auth/sessions`);
    expect(response.status).toBe(200);
    const body = response.json<SessionList>();
    expect(body.sessions).toHaveLength(MAX_LISTED);
    expect(body.truncated).toBe(true);
    expect(body.sessions[0]!.current).toBe(true);
    expect(body.sessions.filter((entry) => entry.current)).toHaveLength(1);
  });

  it('a session left out of the list can still be ended by its handle', async () => {
    const listed = new Set((await browser.request(`${f.origin}/auth/sessions`)).json<SessionList>().sessions.map((entry) => entry.handle));
    const handles = new SessionHandles(f.gateway.config.keys.cookie);
    const unlisted = extraSids.find((sid) => !listed.has(handles.of(sid)))!;
    expect(unlisted).toBeDefined();
    const response = await browser.request(`${f.origin}/auth/sessions/${handles.of(unlisted)}/logout`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await f.gateway.store.getSession(unlisted)).toBeNull();
  });
});
