import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring, decodeKeyMaterial, generateKey } from '../../src/crypto/keyring.ts';
import { DecryptionFailedError } from '../../src/errors.ts';

const keyA = { kid: 'a', key: generateKey() };
const keyB = { kid: 'b', key: generateKey() };
const secret = 'at-3f9c1e7d-access-token-value';

function replacePart(sealed: string, index: number, replace: (part: string) => string): string {
  const parts = sealed.split('.');
  parts[index] = replace(parts[index]!);
  return parts.join('.');
}

function flipFirstChar(part: string): string {
  return (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
}

describe('sealing round trip', () => {
  it('opens what it sealed, in the v1.<kid>.<iv>.<ciphertext+tag> format', () => {
    const ring = new Keyring([keyA]);
    const sealed = ring.seal(secret, 'sid-1', 'access');
    expect(sealed).toMatch(/^v1\.a\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(secret);
    expect(ring.open(sealed, 'sid-1', 'access')).toBe(secret);
  });

  it('round-trips empty and non-ASCII plaintexts', () => {
    const ring = new Keyring([keyA]);
    for (const text of ['', 'ünïcødé ✓', 'x'.repeat(10_000)]) {
      expect(ring.open(ring.seal(text, 's', 'f'), 's', 'f')).toBe(text);
    }
  });
});

describe('tampering fails with one opaque error', () => {
  const ring = new Keyring([keyA]);
  const sealed = ring.seal(secret, 'sid-1', 'access');
  const cases: Record<string, string> = {
    version: replacePart(sealed, 0, () => 'v2'),
    kid: replacePart(sealed, 1, () => 'zz'),
    iv: replacePart(sealed, 2, flipFirstChar),
    'iv length': replacePart(sealed, 2, (part) => part.slice(0, 8)),
    ciphertext: replacePart(sealed, 3, flipFirstChar),
    tag: replacePart(sealed, 3, (part) => part.slice(0, -2) + (part.endsWith('AA') ? 'BB' : 'AA')),
    'truncated body': replacePart(sealed, 3, (part) => part.slice(0, 10)),
    'extra part': `${sealed}.x`,
    'missing part': sealed.split('.').slice(0, 3).join('.'),
    'non-base64url characters': replacePart(sealed, 3, (part) => `${part.slice(0, -1)}*`),
    empty: '',
  };
  for (const [name, tampered] of Object.entries(cases)) {
    it(`rejects a changed ${name}`, () => {
      expect(() => ring.open(tampered, 'sid-1', 'access')).toThrow(DecryptionFailedError);
    });
  }

  it('says the same thing whatever went wrong', () => {
    const messages = new Set(
      Object.values(cases).map((tampered) => {
        try {
          ring.open(tampered, 'sid-1', 'access');
          return 'opened';
        } catch (err) {
          return `${(err as Error).name}:${(err as Error).message}`;
        }
      }),
    );
    expect(messages.size).toBe(1);
  });
});

describe('associated data binds a value to its session and field', () => {
  const ring = new Keyring([keyA]);
  const sealed = ring.seal(secret, 'sid-1', 'refresh');

  it('a ciphertext moved to another sid fails to open', () => {
    expect(() => ring.open(sealed, 'sid-2', 'refresh')).toThrow(DecryptionFailedError);
  });

  it('a ciphertext moved to another field fails to open', () => {
    expect(() => ring.open(sealed, 'sid-1', 'access')).toThrow(DecryptionFailedError);
  });

  it('the separator cannot be shifted between sid and field', () => {
    expect(() => ring.seal(secret, 'sid', '1|refresh')).toThrow(TypeError);
    expect(() => ring.seal(secret, 'sid|1', 'refresh')).toThrow(TypeError);
    expect(() => ring.open(sealed, 'sid-1|refresh', '')).toThrow(DecryptionFailedError);
  });
});

describe('keyring rotation', () => {
  it('a value sealed under the old key still opens after a new key is put first', () => {
    const before = new Keyring([keyA]).seal(secret, 's', 'f');
    const rotated = new Keyring([keyB, keyA]);
    expect(rotated.open(before, 's', 'f')).toBe(secret);
  });

  it('new seals use the first key', () => {
    const rotated = new Keyring([keyB, keyA]);
    const sealed = rotated.seal(secret, 's', 'f');
    expect(sealed.split('.')[1]).toBe('b');
    expect(() => new Keyring([keyA]).open(sealed, 's', 'f')).toThrow(DecryptionFailedError);
  });

  it('an unknown kid fails', () => {
    const sealed = new Keyring([keyB]).seal(secret, 's', 'f');
    expect(() => new Keyring([keyA]).open(sealed, 's', 'f')).toThrow(DecryptionFailedError);
  });
});

describe('key material', () => {
  it('accepts base64, base64url and hex keys of at least 32 bytes', () => {
    const bytes = randomBytes(32);
    for (const text of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')]) {
      expect(decodeKeyMaterial(text)).toEqual(bytes);
    }
  });

  it('rejects keys shorter than 32 bytes, without echoing them', () => {
    const short = randomBytes(31).toString('base64');
    const reason = decodeKeyMaterial(short);
    expect(reason).toBe('key must be at least 32 bytes (got 31)');
    expect(() => new Keyring([{ kid: 'a', key: short }])).toThrow(/at least 32 bytes/);
    expect(() => new Keyring([{ kid: 'a', key: short }])).not.toThrow(short);
  });

  it('rejects text that is neither base64 nor hex', () => {
    expect(decodeKeyMaterial('not a key at all, has spaces!')).toMatch(/base64/);
  });

  it('keys produced by keygen are 256-bit base64url', () => {
    const key = generateKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeKeyMaterial(key)).toHaveLength(32);
  });

  it('refuses duplicate kids and an empty keyring', () => {
    expect(() => new Keyring([keyA, { ...keyB, kid: 'a' }])).toThrow(/duplicate kid/);
    expect(() => new Keyring([])).toThrow(/at least one key/);
  });
});

describe('a key reload replaces the list in place', () => {
  it('after replace the new first key seals, listed older keys still open, unlisted ones do not', () => {
    const keyring = new Keyring([keyA]);
    const underA = keyring.seal(secret, 's', 'f');
    keyring.replace([keyB, keyA]);
    expect(keyring.primaryKid).toBe('b');
    expect(keyring.kids).toEqual(['b', 'a']);
    const underB = keyring.seal(secret, 's', 'f');
    expect(underB.split('.')[1]).toBe('b');
    expect(keyring.open(underA, 's', 'f')).toBe(secret);
    expect(keyring.sealedWithOldKey(underA)).toBe(true);
    expect(keyring.sealedWithOldKey(underB)).toBe(false);
    keyring.replace([keyB]);
    expect(() => keyring.open(underA, 's', 'f')).toThrow(DecryptionFailedError);
    expect(keyring.open(underB, 's', 'f')).toBe(secret);
  });

  it('with the opened-value cache, a value opened under a key that a reload removed opens no more', () => {
    const keyring = new Keyring([keyA], { openedCacheSize: 10 });
    const underA = keyring.seal(secret, 's', 'f');
    expect(keyring.open(underA, 's', 'f')).toBe(secret); // now remembered
    keyring.replace([keyB]);
    expect(() => keyring.open(underA, 's', 'f')).toThrow(DecryptionFailedError);
  });

  it('an invalid list throws without the key material and keeps the current one', () => {
    const keyring = new Keyring([keyA]);
    const short = randomBytes(8).toString('base64url');
    expect(() => keyring.replace([{ kid: 'c', key: short }, keyA])).toThrow(/key "c": key must be at least 32 bytes/);
    expect(() => keyring.replace([])).toThrow(TypeError);
    try {
      keyring.replace([{ kid: 'c', key: short }]);
    } catch (err) {
      expect(String(err)).not.toContain(short);
    }
    expect(keyring.primaryKid).toBe('a');
    expect(keyring.open(keyring.seal(secret, 's', 'f'), 's', 'f')).toBe(secret);
  });
});
