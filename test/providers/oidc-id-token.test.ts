import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, ProviderError } from '../../src/errors.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';
import { createSigner, nowSeconds, signWith, unsignedJwt } from './support/keys.ts';
import { expectNoSecrets, rejectionOf } from './support/secrets.ts';

let op: FakeOpenIdProvider;

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
});
afterEach(() => op.reset());
afterAll(() => op.close());

const NONCE = 'nonce-5c1f';

async function provider(extra: Record<string, unknown> = {}): Promise<OidcProvider> {
  const corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', ...extra }), { retryDelayMs: 5 });
  await corp.init();
  return corp;
}

function tokens(idToken: string | undefined): ProviderTokens {
  return new ProviderTokens({ accessToken: 'at-idt', idToken });
}

async function idToken(extra: Record<string, unknown> = {}): Promise<string> {
  return op.signer.sign(op.idTokenClaims('client-123', NONCE, extra));
}

describe('a valid ID token', () => {
  it('yields sub, name, email, picture and the provider sid', async () => {
    const corp = await provider();
    const token = await idToken({ name: 'Ada', email: 'ada@example.com', picture: 'https://img.example.com/a.png', sid: 'op-sid-1' });
    await expect(corp.identify(tokens(token), NONCE)).resolves.toEqual({
      sub: 'user-42',
      name: 'Ada',
      email: 'ada@example.com',
      picture: 'https://img.example.com/a.png',
      providerSid: 'op-sid-1',
    });
    expect(op.requestsTo('/userinfo')).toHaveLength(0);
  });

  it('accepts several audiences when azp is this client and every other audience is trusted', async () => {
    const corp = await provider({ trustedAudiences: ['other-api'] });
    const token = await idToken({ aud: ['client-123', 'other-api'], azp: 'client-123', name: 'Ada' });
    await expect(corp.identify(tokens(token), NONCE)).resolves.toMatchObject({ sub: 'user-42' });
  });

  it('refuses an extra audience that is not trusted, even when azp is this client', async () => {
    const corp = await provider({ trustedAudiences: ['other-api'] });
    const token = await idToken({ aud: ['client-123', 'unknown-api'], azp: 'client-123', name: 'Ada' });
    const err = await rejectionOf(corp.identify(tokens(token), NONCE));
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toMatch(/audience is not trusted/);
    const untrusting = await provider();
    await expect(untrusting.identify(tokens(await idToken({ aud: ['client-123', 'other-api'], azp: 'client-123' })), NONCE)).rejects.toBeInstanceOf(BadRequestError);
  });

  it('fills name and email from userinfo when the ID token has neither, and checks its sub', async () => {
    const corp = await provider();
    op.on('GET /userinfo', (request) => ({ body: request.headers.authorization === 'Bearer at-idt' ? { sub: 'user-42', name: 'Ada', email: 'ada@example.com' } : { sub: 'nobody' } }));
    await expect(corp.identify(tokens(await idToken()), NONCE)).resolves.toEqual({ sub: 'user-42', name: 'Ada', email: 'ada@example.com' });
    op.on('GET /userinfo', () => ({ body: { sub: 'someone-else', name: 'Eve' } }));
    const err = await rejectionOf(corp.identify(tokens(await idToken()), NONCE));
    expect(err).toBeInstanceOf(ProviderError);
  });
});

describe('an ID token is rejected with BAD_REQUEST when', () => {
  const cases: Record<string, [make: () => Promise<string>, reason: RegExp]> = {
    'the issuer is another': [() => idToken({ iss: 'http://127.0.0.1:1' }), /iss: check_failed/],
    'the audience is another client': [() => idToken({ aud: 'client-999' }), /aud: check_failed/],
    'several audiences come without azp': [() => idToken({ aud: ['client-123', 'other-api'] }), /several audiences and no azp/],
    'azp names another client': [() => idToken({ azp: 'client-999' }), /azp is another client/],
    'it expired': [() => idToken({ exp: nowSeconds() - 600, iat: nowSeconds() - 900 }), /ERR_JWT_EXPIRED/],
    'the nonce differs': [() => idToken({ nonce: 'nonce-other' }), /nonce mismatch/],
    'the nonce is missing': [() => idToken({ nonce: undefined }), /nonce mismatch/],
    'sub is missing': [() => idToken({ sub: undefined }), /sub: missing/],
    'it is unsigned (alg none)': [async () => unsignedJwt(op.idTokenClaims('client-123', NONCE)), /ERR_JOSE_ALG_NOT_ALLOWED/],
    'it is signed by an unknown key': [async () => (await createSigner('test-key-1')).sign(op.idTokenClaims('client-123', NONCE)), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
    'it is HMAC-signed with the client secret': [() => signWith(new TextEncoder().encode('secret-s3cr3t-value'), op.idTokenClaims('client-123', NONCE), { alg: 'HS256', kid: 'test-key-1' }), /ERR_JOSE_ALG_NOT_ALLOWED/],
    'it is not a JWT at all': [async () => 'not-a-jwt', /ERR_JWS_INVALID/],
  };

  for (const [name, [make, reason]] of Object.entries(cases)) {
    it(name, async () => {
      const corp = await provider();
      const token = await make();
      const err = await rejectionOf(corp.identify(tokens(token), NONCE));
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).message).toMatch(reason);
      expectNoSecrets(err, [token, NONCE, 'at-idt']);
    });
  }

  it('the login lost its nonce', async () => {
    const corp = await provider();
    await expect(corp.identify(tokens(await idToken()), undefined)).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe('ID token failures that are the provider’s, not the token’s', () => {
  it('no ID token in the token response is a ProviderError', async () => {
    const corp = await provider();
    const err = (await rejectionOf(corp.identify(tokens(undefined), NONCE))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.transient).toBe(false);
  });

  it('a JWKS endpoint answering 503 is transient', async () => {
    const corp = await provider();
    op.on('GET /jwks', () => ({ status: 503, body: 'busy' }));
    const err = (await rejectionOf(corp.identify(tokens(await idToken()), NONCE))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.transient).toBe(true);
  });

  it('a JWKS endpoint that times out is transient', async () => {
    const corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '500ms' }));
    await corp.init();
    op.on('GET /jwks', () => ({ delayMs: 1500, body: op.signer.jwks }));
    const err = (await rejectionOf(corp.identify(tokens(await idToken()), NONCE))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.transient).toBe(true);
  });
});

describe('the clock is injectable', () => {
  it('a token valid now is expired for a provider whose clock is an hour ahead', async () => {
    const later = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer }), { now: () => Date.now() + 3_600_000 });
    await later.init();
    await expect(later.identify(tokens(await idToken({ name: 'Ada' })), NONCE)).rejects.toBeInstanceOf(BadRequestError);
  });
});
