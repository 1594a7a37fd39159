import { describe, expect, it } from 'vitest';
import { KnownSecret, sameSecret } from '../../src/crypto/same-secret.ts';

describe('constant-time string equality', () => {
  it('is true only for the very same string', () => {
    expect(sameSecret('state-0123', 'state-0123')).toBe(true);
    expect(sameSecret('', '')).toBe(true);
  });

  it.each([
    ['one character changed', 'state-0123', 'state-0124'],
    ['a prefix', 'state-0123', 'state-012'],
    ['a suffix added', 'state-0123', 'state-01234'],
    ['another case', 'State-0123', 'state-0123'],
    ['empty against text', '', 'x'],
    ['composed and decomposed forms', 'caf\u00e9', 'cafe\u0301'],
  ])('is false for %s', (_case, a, b) => {
    expect(sameSecret(a, b)).toBe(false);
    expect(sameSecret(b, a)).toBe(false);
    expect(new KnownSecret(a).matches(b)).toBe(false);
    expect(new KnownSecret(b).matches(a)).toBe(false);
  });

  it('a KnownSecret matches exactly its own value', () => {
    expect(new KnownSecret('state-0123').matches('state-0123')).toBe(true);
    expect(new KnownSecret('').matches('')).toBe(true);
  });
});
