import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateDpopKey, type DpopKey } from '../../src/dpop/key.ts';
import { ProviderError } from '../../src/errors.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider, type FakeRequest } from './support/fake-op.ts';
import { rejectionOf } from './support/secrets.ts';

/**
 * The token endpoint with a DPoP key (RFC 9449 section 5): a proof on every request, the `DPoP`
 * token type required, and the provider's nonce challenge (`400 use_dpop_nonce`) answered by
 * exactly one resend with the nonce, which for a refresh is no second redemption: the provider
 * refused the first request before it looked at the refresh token.
 */

let op: FakeOpenIdProvider;
let key: DpopKey;

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
  key = (await generateDpopKey()).key;
});
afterEach(() => op.reset());
afterAll(() => op.close());

async function provider(): Promise<OidcProvider> {
  const corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', clientSecret: 's', dpop: true }), { retryDelayMs: 5 });
  await corp.init();
  return corp;
}

const DPOP_ANSWER = { body: { access_token: 'at-dpop', token_type: 'DPoP', expires_in: 60, refresh_token: 'rt-2' } };
const nonceChallenge = (nonce: string) => ({ status: 400, headers: { 'dpop-nonce': nonce }, body: { error: 'use_dpop_nonce' } });

async function proofOf(request: FakeRequest | undefined) {
  const { payload, protectedHeader } = await jwtVerify(String(request?.headers.dpop), EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
  return { payload, thumbprint: await calculateJwkThumbprint(protectedHeader.jwk!) };
}

describe('token requests with a DPoP key', () => {
  it('the code exchange carries a proof of the key for POST at the token endpoint and takes a DPoP token', async () => {
    const corp = await provider();
    op.on('POST /token', () => DPOP_ANSWER);
    const tokens = await corp.exchangeCode('code', 'verifier', 'https://app.example.com/cb', { dpop: key });
    expect(tokens.tokenType).toBe('DPoP');
    const { payload, thumbprint } = await proofOf(op.requestsTo('/token')[0]);
    expect(payload).toMatchObject({ htm: 'POST', htu: `${op.issuer}/token` });
    expect(payload).not.toHaveProperty('ath');
    expect(thumbprint).toBe(await calculateJwkThumbprint(key.publicJwk));
    expect(decodeProtectedHeader(String(op.requestsTo('/token')[0]?.headers.dpop)).jwk).not.toHaveProperty('d');
  });

  it('a Bearer answer to a DPoP request is refused: the token would not be bound', async () => {
    const corp = await provider();
    op.on('POST /token', () => ({ body: { access_token: 'at', token_type: 'Bearer' } }));
    const err = (await rejectionOf(corp.exchangeCode('code', 'verifier', 'https://app.example.com/cb', { dpop: key }))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.transient).toBe(false);
  });

  it('a refresh answered use_dpop_nonce is sent exactly once more, with the nonce and a new proof; the nonce is kept for later', async () => {
    const corp = await provider();
    let calls = 0;
    op.on('POST /token', () => (++calls === 1 ? nonceChallenge('n-1') : DPOP_ANSWER));
    const tokens = await corp.refresh('rt-1', { dpop: key });
    expect(tokens.accessToken).toBe('at-dpop');
    const sent = op.requestsTo('/token');
    expect(sent).toHaveLength(2);
    expect(sent.map((request) => request.form['refresh_token'])).toEqual(['rt-1', 'rt-1']);
    const [first, second] = [decodeJwt(String(sent[0]?.headers.dpop)), decodeJwt(String(sent[1]?.headers.dpop))];
    expect(first.nonce).toBeUndefined();
    expect(second.nonce).toBe('n-1');
    expect(second.jti).not.toBe(first.jti);
    // The next request starts with the nonce it learnt.
    await corp.refresh('rt-2', { dpop: key });
    expect(op.requestsTo('/token')).toHaveLength(3);
    expect(decodeJwt(String(op.requestsTo('/token')[2]?.headers.dpop)).nonce).toBe('n-1');
  });

  it('a provider that keeps asking for nonces gets two requests, then its error: no loop, and a known outcome', async () => {
    const corp = await provider();
    let calls = 0;
    op.on('POST /token', () => nonceChallenge(`n-${++calls}`));
    const err = (await rejectionOf(corp.refresh('rt-1', { dpop: key }))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.oauthError).toBe('use_dpop_nonce');
    expect(err.outcomeUnknown).toBe(false);
    expect(err.grantRevoked).toBe(false);
    expect(op.requestsTo('/token')).toHaveLength(2);
  });

  it('without a key nothing changes: no proof, Bearer expected', async () => {
    const corp = await provider();
    op.on('POST /token', () => ({ body: { access_token: 'at', token_type: 'Bearer' } }));
    await corp.refresh('rt-1');
    expect(op.requestsTo('/token')[0]?.headers.dpop).toBeUndefined();
  });
});
