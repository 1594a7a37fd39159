import { describe, expect, it } from 'vitest';
import { generateKey, Keyring } from '../../src/crypto/keyring.ts';
import { generateDpopKey } from '../../src/dpop/key.ts';
import { asksForNonce, DpopNonces } from '../../src/dpop/nonces.ts';
import { DPOP_SEAL_FIELD, DpopKeys, sealDpopKey } from '../../src/dpop/sealed-key.ts';
import { DecryptionFailedError } from '../../src/errors.ts';

describe('the sealed DPoP key of a session', () => {
  it('is imported once and then answered from memory for the same sealed value and sid', async () => {
    const keyring = new Keyring([{ kid: 'k1', key: generateKey() }]);
    const sealed = sealDpopKey(keyring, 'sid-1', (await generateDpopKey()).privateJwk);
    const keys = new DpopKeys(keyring, 4);
    const first = await keys.forSession('sid-1', sealed);
    expect(await keys.forSession('sid-1', sealed)).toBe(first);
    expect(first.publicJwk).not.toHaveProperty('d');
    // Bound to its session: another sid opens nothing, from memory or otherwise.
    await expect(keys.forSession('sid-2', sealed)).rejects.toBeInstanceOf(DecryptionFailedError);
  });

  it('a key reload that drops the sealing key stops it opening, even from memory', async () => {
    const old = { kid: 'old', key: generateKey() };
    const keyring = new Keyring([old]);
    const sealed = sealDpopKey(keyring, 'sid-1', (await generateDpopKey()).privateJwk);
    const keys = new DpopKeys(keyring, 4);
    await keys.forSession('sid-1', sealed);
    keyring.replace([{ kid: 'new', key: generateKey() }]);
    await expect(keys.forSession('sid-1', sealed)).rejects.toBeInstanceOf(DecryptionFailedError);
  });

  it('what opens but is no EC P-256 private key is the same failure as a bad seal', async () => {
    const keyring = new Keyring([{ kid: 'k1', key: generateKey() }]);
    const keys = new DpopKeys(keyring, 4);
    for (const text of ['not json', '{"kty":"RSA"}', '{"kty":"EC","crv":"P-256","x":"a","y":"b"}']) {
      await expect(keys.forSession('sid-1', keyring.seal(text, 'sid-1', DPOP_SEAL_FIELD))).rejects.toBeInstanceOf(DecryptionFailedError);
    }
  });
});

describe('DPoP nonces', () => {
  it('keeps the latest usable nonce per server and ignores malformed ones', () => {
    const nonces = new DpopNonces();
    expect(nonces.remember('https://a', 'n-1')).toBe(true);
    expect(nonces.remember('https://a', 'has space')).toBe(false);
    expect(nonces.remember('https://a', 'quote"d')).toBe(false);
    expect(nonces.remember('https://a', 'x'.repeat(257))).toBe(false);
    expect(nonces.remember('https://a', ['n-2', 'n-3'])).toBe(false);
    expect(nonces.get('https://a')).toBe('n-1');
    expect(nonces.remember('https://a', 'n-2')).toBe(true);
    expect(nonces.get('https://a')).toBe('n-2');
    expect(nonces.get('https://b')).toBeUndefined();
  });

  it('stays bounded however many servers answer', () => {
    const nonces = new DpopNonces();
    for (let i = 0; i < 1000; i += 1) nonces.remember(`https://s${i}`, `n-${i}`);
    expect(nonces.get('https://s0')).toBeUndefined();
    expect(nonces.get('https://s999')).toBe('n-999');
  });

  it('recognises a nonce challenge only in a DPoP WWW-Authenticate', () => {
    expect(asksForNonce('DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"')).toBe(true);
    expect(asksForNonce(['Bearer realm="x"', 'DPoP algs="ES256", error="use_dpop_nonce"'])).toBe(true);
    expect(asksForNonce('DPoP error="invalid_token"')).toBe(false);
    expect(asksForNonce('Bearer error="use_dpop_nonce"')).toBe(false);
    expect(asksForNonce(undefined)).toBe(false);
  });
});
