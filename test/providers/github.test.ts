import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, ProviderError } from '../../src/errors.ts';
import { GITHUB_API_VERSION, GithubProvider } from '../../src/providers/github.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { providerConfig } from './support/config.ts';
import { RequestLog, basicCredentials, formOf, mockServer, type MockProviders } from './support/msw.ts';
import { expectNoSecrets, rejectionOf } from './support/secrets.ts';

const TOKEN_URL = 'https://github.com/login/oauth/access_token';
const log = new RequestLog();
let mock: MockProviders;

/** An OAuth App answers a non-expiring token; a GitHub App an 8-hour token with a single-use refresh token. */
const oauthAppTokens = { access_token: 'gho_oauthapp', token_type: 'bearer', scope: 'read:user' };
const githubAppTokens = { access_token: 'ghu_app1', expires_in: 28800, refresh_token: 'ghr_one', refresh_token_expires_in: 15811200, token_type: 'bearer', scope: '' };

beforeAll(() => {
  mock = mockServer(
    http.post(TOKEN_URL, async ({ request }) => {
      await log.record(request);
      return HttpResponse.json(oauthAppTokens);
    }),
    http.get('https://api.github.com/user', async ({ request }) => {
      await log.record(request);
      if (request.headers.get('authorization') !== 'Bearer gho_oauthapp') return HttpResponse.json({ message: 'Bad credentials' }, { status: 401 });
      return HttpResponse.json({ login: 'octocat', id: 583231, name: null, email: null, avatar_url: 'https://avatars.githubusercontent.com/u/583231?v=4' });
    }),
    http.delete('https://api.github.com/applications/:clientId/grant', async ({ request }) => {
      await log.record(request);
      return new HttpResponse(null, { status: 204 });
    }),
  );
});
afterEach(() => {
  mock.server.resetHandlers();
  log.clear();
  expect(mock.unhandled).toEqual([]);
});
afterAll(() => mock.close());

function github(extra: Record<string, unknown> = {}): GithubProvider {
  return new GithubProvider(providerConfig({ type: 'github', id: 'github', ...extra }), { retryDelayMs: 5 });
}

describe('GitHub authorization URL', () => {
  it('sends client_id, redirect_uri, scope, state and a PKCE S256 challenge; no nonce, no response_type', async () => {
    const url = await github().authorizationUrl({ state: 'st-1', codeChallenge: 'ch-1', nonce: 'ignored', redirectUri: 'https://app.example.com/auth/callback' });
    expect(`${url.origin}${url.pathname}`).toBe('https://github.com/login/oauth/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'client-123',
      redirect_uri: 'https://app.example.com/auth/callback',
      scope: 'read:user',
      state: 'st-1',
      code_challenge: 'ch-1',
      code_challenge_method: 'S256',
    });
  });

  it('uses the Enterprise Server base URL', async () => {
    const url = await github({ baseUrl: 'https://github.example.com/' }).authorizationUrl({ state: 's', codeChallenge: 'c', redirectUri: 'https://app.example.com/cb' });
    expect(`${url.origin}${url.pathname}`).toBe('https://github.example.com/login/oauth/authorize');
  });

  it('is not OpenID Connect: no issuer, no ID token', () => {
    expect(github()).toMatchObject({ type: 'github', oidc: false, ready: true, issuer: undefined });
  });
});

describe('GitHub token endpoint', () => {
  it('exchanges the code as a form post that asks for JSON back', async () => {
    const tokens = await github().exchangeCode('code-gh', 'verifier-1', 'https://app.example.com/auth/callback');
    const sent = log.last();
    expect(sent.method).toBe('POST');
    expect(sent.headers.get('accept')).toBe('application/json');
    expect(sent.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(formOf(sent)).toEqual({
      code: 'code-gh',
      redirect_uri: 'https://app.example.com/auth/callback',
      code_verifier: 'verifier-1',
      client_id: 'client-123',
      client_secret: 'secret-s3cr3t-value',
    });
    expect(tokens).toMatchObject({ accessToken: 'gho_oauthapp', tokenType: 'Bearer' });
  });

  it('an OAuth App token never expires and has no refresh token', async () => {
    const tokens = await github().exchangeCode('code-gh', 'v', 'https://app.example.com/cb');
    expect(tokens.expiresIn).toBeUndefined();
    expect(tokens.refreshToken).toBeUndefined();
  });

  it('a GitHub App user token expires in 8 h and refreshes with its single-use refresh token', async () => {
    mock.server.use(
      http.post(TOKEN_URL, async ({ request }) => {
        const form = formOf(await log.record(request));
        return HttpResponse.json(form['grant_type'] === 'refresh_token' ? { ...githubAppTokens, access_token: 'ghu_app2', refresh_token: 'ghr_two' } : githubAppTokens);
      }),
    );
    const first = await github().exchangeCode('code-gh', 'v', 'https://app.example.com/cb');
    expect(first).toMatchObject({ accessToken: 'ghu_app1', refreshToken: 'ghr_one', expiresIn: 28800, refreshTokenExpiresIn: 15811200 });
    const second = await github().refresh('ghr_one');
    expect(formOf(log.last())).toEqual({ grant_type: 'refresh_token', refresh_token: 'ghr_one', client_id: 'client-123', client_secret: 'secret-s3cr3t-value' });
    expect(log.last().headers.get('accept')).toBe('application/json');
    expect(second).toMatchObject({ accessToken: 'ghu_app2', refreshToken: 'ghr_two' });
  });

  it('maps errors sent as HTTP 200 to ProviderError with the GitHub error code', async () => {
    const cases = [
      ['bad_verification_code', false],
      ['incorrect_client_credentials', false],
      ['bad_refresh_token', true],
    ] as const;
    for (const [error, grantRevoked] of cases) {
      mock.server.use(http.post(TOKEN_URL, () => HttpResponse.json({ error, error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/x' })));
      const err = (await rejectionOf(error === 'bad_refresh_token' ? github().refresh('ghr_old') : github().exchangeCode('code-gh', 'v', 'https://app.example.com/cb'))) as ProviderError;
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ oauthError: error, transient: false, httpStatus: 200, grantRevoked });
      expectNoSecrets(err, ['code-gh', 'ghr_old', 'secret-s3cr3t-value']);
    }
  });
});

describe('GitHub profile', () => {
  it('reads GET /user with Bearer token, GitHub media type, API version and a User-Agent', async () => {
    const profile = await github().identify(new ProviderTokens({ accessToken: 'gho_oauthapp' }));
    const sent = log.last();
    expect(sent.headers.get('authorization')).toBe('Bearer gho_oauthapp');
    expect(sent.headers.get('accept')).toBe('application/vnd.github+json');
    expect(sent.headers.get('x-github-api-version')).toBe(GITHUB_API_VERSION);
    expect(sent.headers.get('user-agent')).toBe('Tokengate');
    expect(profile).toEqual({ sub: '583231', name: 'octocat', picture: 'https://avatars.githubusercontent.com/u/583231?v=4' });
  });

  it('prefers the display name and keeps a public email', async () => {
    mock.server.use(http.get('https://api.github.com/user', () => HttpResponse.json({ login: 'octocat', id: 1, name: 'The Octocat', email: 'octo@example.com', avatar_url: null })));
    await expect(github().identify(new ProviderTokens({ accessToken: 'gho_oauthapp' }))).resolves.toEqual({ sub: '1', name: 'The Octocat', email: 'octo@example.com' });
  });

  it('a rejected token is a non-transient error; an exhausted rate limit is transient', async () => {
    const rejected = (await rejectionOf(github().identify(new ProviderTokens({ accessToken: 'gho_other' })))) as ProviderError;
    expect(rejected).toMatchObject({ transient: false, httpStatus: 401 });
    expectNoSecrets(rejected, ['gho_other']);
    mock.server.use(
      http.get('https://api.github.com/user', () =>
        HttpResponse.json({ message: 'API rate limit exceeded' }, { status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60) } }),
      ),
    );
    const limited = (await rejectionOf(github().identify(new ProviderTokens({ accessToken: 'gho_oauthapp' })))) as ProviderError;
    expect(limited).toMatchObject({ transient: true, httpStatus: 403 });
    expect(limited.retryAfter).toBeGreaterThan(50);
  });
});

describe('GitHub revocation', () => {
  it('deletes the grant with Basic client credentials and the access token in a JSON body', async () => {
    await expect(github().revoke({ accessToken: 'gho_oauthapp', refreshToken: 'ghr_x' })).resolves.toMatchObject({ outcome: 'revoked' });
    const sent = log.last();
    expect(sent.method).toBe('DELETE');
    expect(sent.url.href).toBe('https://api.github.com/applications/client-123/grant');
    expect(basicCredentials(sent)).toEqual(['client-123', 'secret-s3cr3t-value']);
    expect(sent.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(sent.body)).toEqual({ access_token: 'gho_oauthapp' });
    expect(sent.headers.get('accept')).toBe('application/vnd.github+json');
  });

  it('treats 404 (token unknown) as revoked, 422 and 500 as failed', async () => {
    const answer = (status: number) => mock.server.use(http.delete('https://api.github.com/applications/:clientId/grant', () => HttpResponse.json({ message: 'x' }, { status })));
    answer(404);
    await expect(github().revoke({ accessToken: 'gho_oauthapp' })).resolves.toMatchObject({ outcome: 'revoked' });
    answer(422);
    await expect(github().revoke({ accessToken: 'gho_oauthapp' })).resolves.toMatchObject({ outcome: 'failed' });
    answer(500);
    await expect(github().revoke({ accessToken: 'gho_oauthapp' })).resolves.toMatchObject({ outcome: 'failed' });
  });

  it('cannot revoke with a refresh token alone', async () => {
    await expect(github().revoke({ refreshToken: 'ghr_x' })).resolves.toMatchObject({ outcome: 'unsupported' });
    expect(log.requests).toHaveLength(0);
  });

  it('has no end-session URL and no back-channel logout', async () => {
    expect(github().endSessionUrl()).toBeUndefined();
    await expect(github().verifyLogoutToken()).rejects.toBeInstanceOf(BadRequestError);
  });
});
