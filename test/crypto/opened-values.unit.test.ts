import { describe, expect, it } from 'vitest';
import { Keyring, generateKey } from '../../src/crypto/keyring.ts';
import { OpenedValues } from '../../src/crypto/opened-values.ts';
import { DecryptionFailedError } from '../../src/errors.ts';

describe('opened values remembered by the keyring', () => {
  const keyring = () => new Keyring([{ kid: 'k1', key: generateKey() }], { openedCacheSize: 2 });

  it('answers exactly what opening answers, for the same sealed value, sid and field', () => {
    const ring = keyring();
    const sealed = ring.seal('access-1', 'sid-a', 'access');
    expect(ring.open(sealed, 'sid-a', 'access')).toBe('access-1');
    expect(ring.open(sealed, 'sid-a', 'access')).toBe('access-1');
    const refreshed = ring.seal('access-2', 'sid-a', 'access');
    expect(ring.open(refreshed, 'sid-a', 'access')).toBe('access-2');
  });

  it('a remembered ciphertext copied into another session or field still fails to open', () => {
    const ring = keyring();
    const sealed = ring.seal('access-1', 'sid-a', 'access');
    expect(ring.open(sealed, 'sid-a', 'access')).toBe('access-1');
    expect(() => ring.open(sealed, 'sid-b', 'access')).toThrow(DecryptionFailedError);
    expect(() => ring.open(sealed, 'sid-a', 'refresh')).toThrow(DecryptionFailedError);
  });

  it('a tampered value with a remembered sibling still fails', () => {
    const ring = keyring();
    const sealed = ring.seal('access-1', 'sid-a', 'access');
    ring.open(sealed, 'sid-a', 'access');
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(() => ring.open(tampered, 'sid-a', 'access')).toThrow(DecryptionFailedError);
  });

  it('is bounded: the least recently used value goes first', () => {
    const values = new OpenedValues(2);
    values.set('s1', 'a', 'access', 'one');
    values.set('s2', 'b', 'access', 'two');
    expect(values.get('s1', 'a', 'access')).toBe('one');
    values.set('s3', 'c', 'access', 'three');
    expect(values.size).toBe(2);
    expect(values.get('s2', 'b', 'access')).toBeUndefined();
    expect(values.get('s1', 'a', 'access')).toBe('one');
    expect(values.get('s3', 'c', 'access')).toBe('three');
  });
});
