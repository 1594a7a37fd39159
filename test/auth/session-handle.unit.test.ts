import { describe, expect, it } from 'vitest';
import { SessionHandles } from '../../src/auth/session-handle.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { CookieKeys } from '../../src/session/cookie-keys.ts';
import { newSessionId } from '../../src/session/session-id.ts';

/** Opaque session handles: stable, keyed, not the sid, not the cookie's signature. */

const OLD = generateKey();
const NEW = generateKey();

describe('session handles', () => {
  it('are 22 base64url characters, stable for a sid and key, different per sid', () => {
    const handles = new SessionHandles([OLD]);
    const sid = newSessionId();
    expect(handles.of(sid)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(handles.of(sid)).toBe(new SessionHandles([OLD]).of(sid));
    expect(handles.of(newSessionId())).not.toBe(handles.of(sid));
    expect(new SessionHandles([NEW]).of(sid)).not.toBe(handles.of(sid));
  });

  it('name only the sid they were made from, among the sids given', () => {
    const handles = new SessionHandles([OLD]);
    const [mine, other] = [newSessionId(), newSessionId()];
    expect(handles.find(handles.of(mine), [other, mine])).toBe(mine);
    expect(handles.find(handles.of(mine), [other])).toBeUndefined();
    expect(handles.find(mine, [mine])).toBeUndefined();
    expect(handles.find('', [mine])).toBeUndefined();
    expect(handles.find(`${handles.of(mine)}x`, [mine])).toBeUndefined();
  });

  it('made under an older cookie key are still recognised after a rotation, and new ones use the first key', () => {
    const sid = newSessionId();
    const before = new SessionHandles([OLD]);
    const after = new SessionHandles([NEW, OLD]);
    expect(after.find(before.of(sid), [sid])).toBe(sid);
    expect(after.of(sid)).toBe(new SessionHandles([NEW]).of(sid));
    expect(new SessionHandles([NEW]).find(before.of(sid), [sid])).toBeUndefined();
  });

  it('are not the session cookie\'s signature under the same key', () => {
    const sid = newSessionId();
    const signature = new CookieKeys([OLD]).sign(sid);
    expect(signature.startsWith(new SessionHandles([OLD]).of(sid))).toBe(false);
  });
});
