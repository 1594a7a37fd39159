import Keygrip from 'keygrip';
import { describe, expect, it } from 'vitest';
import { CookieKeys } from '../../src/session/cookie-keys.ts';

/** Koa's signed-cookie format is keygrip's with sha256; cookies signed either way must interoperate. */
const current = 'current-cookie-key-0123456789abcdefghijkl';
const previous = 'previous-cookie-key-0123456789abcdefghijk';
const data = '__Host-tg_session=c2lkLXZhbHVlLWZvci10aGUtdGVzdA';

describe('CookieKeys', () => {
  it("signs exactly as keygrip (sha256) does, with the first key", () => {
    expect(new CookieKeys([current, previous]).sign(data)).toBe(new Keygrip([current], 'sha256').sign(data));
  });

  it('names the key that made a signature: 0 for the current one, 1 for the previous one', () => {
    const keys = new CookieKeys([current, previous]);
    expect(keys.index(data, new Keygrip([current], 'sha256').sign(data))).toBe(0);
    expect(keys.index(data, new Keygrip([previous], 'sha256').sign(data))).toBe(1);
    expect(keys.verify(data, keys.sign(data))).toBe(true);
  });

  it('rejects a signature over other data, from an unknown key, truncated, padded or empty', () => {
    const keys = new CookieKeys([current, previous]);
    const good = keys.sign(data);
    expect(keys.index(`${data}x`, good)).toBe(-1);
    expect(keys.index(data, new Keygrip(['a-stranger-key-0123456789abcdefghijklmn'], 'sha256').sign(data))).toBe(-1);
    expect(keys.index(data, good.slice(0, -1))).toBe(-1);
    expect(keys.index(data, `${good}=`)).toBe(-1);
    expect(keys.index(data, '')).toBe(-1);
    expect(keys.verify(data, `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
  });

  it('verifies what keygrip verifies, both ways', () => {
    const ours = new CookieKeys([current]);
    expect(new Keygrip([current], 'sha256').verify(data, ours.sign(data))).toBe(true);
  });

  it('needs at least one key', () => {
    expect(() => new CookieKeys([])).toThrow(TypeError);
  });
});
