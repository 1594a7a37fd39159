import { describe, expect, it } from 'vitest';
import { Keyring, generateKey } from '../../src/crypto/keyring.ts';

/** 100,000 seals: pure logic, but seconds of CPU, so it runs in the integration tier, not in `npm run test:unit`. */

const keyA = { kid: 'a', key: generateKey() };

describe('initialisation vectors', () => {
  it('no IV repeats over 100,000 seals', () => {
    const ring = new Keyring([keyA]);
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(ring.seal('x', 's', 'f').split('.')[2]!);
    expect(seen.size).toBe(100_000);
  });
});
