import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, ProviderError } from '../../src/errors.ts';
import { GOOGLE_ENDPOINTS, GoogleProvider } from '../../src/providers/google.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { providerConfig } from './support/config.ts';
import { createSigner, nowSeconds, type TestSigner } from './support/keys.ts';
import { RequestLog, formOf, mockServer, type MockProviders } from './support/msw.ts';
import { rejectionOf } from './support/secrets.ts';

const log = new RequestLog();
let signer: TestSigner;
let mock: MockProviders;

beforeAll(async () => {
  signer = await createSigner('google-key');
  mock = mockServer(
    http.get(GOOGLE_ENDPOINTS.jwks, () => HttpResponse.json(signer.jwks)),
    http.post(GOOGLE_ENDPOINTS.token, async ({ request }) => {
      const form = formOf(await log.record(request));
      if (form['grant_type'] === 'refresh_token') return HttpResponse.json({ access_token: 'ya29.refreshed', expires_in: 3599, token_type: 'Bearer', scope: 'openid email' });
      return HttpResponse.json({ access_token: 'ya29.first', refresh_token: '1//refresh', id_token: 'eyJ.id', expires_in: 3599, token_type: 'Bearer' });
    }),
    http.post(GOOGLE_ENDPOINTS.revocation, async ({ request }) => {
      await log.record(request);
      return new HttpResponse(null, { status: 200 });
    }),
  );
});
afterEach(() => {
  mock.server.resetHandlers();
  log.clear();
  expect(mock.unhandled).toEqual([]);
});
afterAll(() => mock.close());

function google(extra: Record<string, unknown> = {}): GoogleProvider {
  return new GoogleProvider(providerConfig({ type: 'google', id: 'google', ...extra }), { retryDelayMs: 5 });
}

const request = { state: 'st-1', codeChallenge: 'ch-1', nonce: 'no-1', redirectUri: 'https://app.example.com/auth/callback' };

describe('Google authorization URL', () => {
  it('asks for offline access with PKCE S256 and a nonce, and no consent prompt by default', async () => {
    const url = await google().authorizationUrl(request);
    expect(`${url.origin}${url.pathname}`).toBe('https://accounts.google.com/o/oauth2/v2/auth');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      access_type: 'offline',
      response_type: 'code',
      client_id: 'client-123',
      redirect_uri: 'https://app.example.com/auth/callback',
      scope: 'openid email profile',
      state: 'st-1',
      code_challenge: 'ch-1',
      code_challenge_method: 'S256',
      nonce: 'no-1',
    });
  });

  it('adds prompt=consent only when the login forces consent, keeping a configured prompt', async () => {
    expect((await google().authorizationUrl({ ...request, forceConsent: true })).searchParams.get('prompt')).toBe('consent');
    const configured = google({ authorizationParams: { prompt: 'select_account', hd: 'example.com' } });
    expect((await configured.authorizationUrl(request)).searchParams.get('prompt')).toBe('select_account');
    const forced = await configured.authorizationUrl({ ...request, forceConsent: true });
    expect(forced.searchParams.get('prompt')).toBe('select_account consent');
    expect(forced.searchParams.get('hd')).toBe('example.com');
  });

  it('is OpenID Connect with the fixed issuer, ready without discovery', async () => {
    const provider = google();
    await provider.init();
    expect(provider).toMatchObject({ type: 'google', oidc: true, ready: true, issuer: 'https://accounts.google.com' });
  });
});

describe('Google token endpoint', () => {
  it('exchanges the code with client_secret_post and the PKCE verifier', async () => {
    const tokens = await google().exchangeCode('4/code', 'verifier-1', 'https://app.example.com/auth/callback');
    const sent = log.last();
    expect(sent.method).toBe('POST');
    expect(sent.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(sent.headers.get('authorization')).toBeNull();
    expect(formOf(sent)).toEqual({
      grant_type: 'authorization_code',
      code: '4/code',
      redirect_uri: 'https://app.example.com/auth/callback',
      code_verifier: 'verifier-1',
      client_id: 'client-123',
      client_secret: 'secret-s3cr3t-value',
    });
    expect(tokens).toMatchObject({ accessToken: 'ya29.first', refreshToken: '1//refresh', idToken: 'eyJ.id', expiresIn: 3599 });
  });

  it('refreshes with grant_type=refresh_token; Google sends no new refresh token', async () => {
    const tokens = await google().refresh('1//refresh');
    expect(formOf(log.last())).toEqual({ grant_type: 'refresh_token', refresh_token: '1//refresh', client_id: 'client-123', client_secret: 'secret-s3cr3t-value' });
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.accessToken).toBe('ya29.refreshed');
  });

  it('maps invalid_grant (revoked or expired refresh token) to a non-transient, grant-revoked error', async () => {
    mock.server.use(http.post(GOOGLE_ENDPOINTS.token, () => HttpResponse.json({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }, { status: 400 })));
    const err = (await rejectionOf(google().refresh('1//refresh'))) as ProviderError;
    expect(err).toMatchObject({ oauthError: 'invalid_grant', transient: false, httpStatus: 400, grantRevoked: true, providerId: 'google' });
  });
});

describe('Google ID token', () => {
  const claims = (extra: Record<string, unknown> = {}) => {
    const now = nowSeconds();
    return { iss: 'https://accounts.google.com', aud: 'client-123', sub: '1098765', iat: now, exp: now + 3600, nonce: 'no-1', email: 'ada@example.com', name: 'Ada L', picture: 'https://lh3.example/p.png', ...extra };
  };

  it('is verified against Google’s JWKS and yields the profile', async () => {
    const idToken = await signer.sign(claims());
    const profile = await google().identify(new ProviderTokens({ accessToken: 'ya29', idToken }), 'no-1');
    expect(profile).toEqual({ sub: '1098765', email: 'ada@example.com', name: 'Ada L', picture: 'https://lh3.example/p.png' });
  });

  it('accepts the issuer without scheme, which Google also uses', async () => {
    const idToken = await signer.sign(claims({ iss: 'accounts.google.com' }));
    await expect(google().identify(new ProviderTokens({ accessToken: 'ya29', idToken }), 'no-1')).resolves.toMatchObject({ sub: '1098765' });
  });

  it('rejects another issuer and a wrong nonce', async () => {
    const provider = google();
    const foreign = await signer.sign(claims({ iss: 'https://accounts.example.com' }));
    await expect(provider.identify(new ProviderTokens({ accessToken: 'ya29', idToken: foreign }), 'no-1')).rejects.toBeInstanceOf(BadRequestError);
    const valid = await signer.sign(claims());
    await expect(provider.identify(new ProviderTokens({ accessToken: 'ya29', idToken: valid }), 'no-2')).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe('Google revocation and logout', () => {
  it('revokes the refresh token alone (it ends the grant) with a form POST of token=', async () => {
    await expect(google().revoke({ accessToken: 'ya29.a', refreshToken: '1//r' })).resolves.toMatchObject({ outcome: 'revoked' });
    expect(log.requests).toHaveLength(1);
    const sent = log.last();
    expect(sent.method).toBe('POST');
    expect(sent.url.href).toBe('https://oauth2.googleapis.com/revoke');
    expect(sent.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(formOf(sent)).toEqual({ token: '1//r' });
  });

  it('revokes the access token when there is no refresh token', async () => {
    await google().revoke({ accessToken: 'ya29.a' });
    expect(formOf(log.last())).toEqual({ token: 'ya29.a' });
  });

  it('treats an already invalid token as revoked and a 503 as failed', async () => {
    mock.server.use(http.post(GOOGLE_ENDPOINTS.revocation, () => HttpResponse.json({ error: 'invalid_token' }, { status: 400 })));
    await expect(google().revoke({ refreshToken: '1//r' })).resolves.toMatchObject({ outcome: 'revoked' });
    mock.server.use(http.post(GOOGLE_ENDPOINTS.revocation, () => new HttpResponse('busy', { status: 503 })));
    await expect(google().revoke({ refreshToken: '1//r' })).resolves.toMatchObject({ outcome: 'failed' });
  });

  it('has no end-session URL and no back-channel logout', async () => {
    expect(google().endSessionUrl()).toBeUndefined();
    await expect(google().verifyLogoutToken()).rejects.toBeInstanceOf(BadRequestError);
  });
});
