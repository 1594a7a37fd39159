import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, ProviderError } from '../../src/errors.ts';
import { DISCORD_ENDPOINTS, DiscordProvider } from '../../src/providers/discord.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { providerConfig } from './support/config.ts';
import { RequestLog, basicCredentials, formOf, mockServer, type MockProviders } from './support/msw.ts';
import { expectNoSecrets, rejectionOf } from './support/secrets.ts';

const log = new RequestLog();
let mock: MockProviders;
let issued = 0;

beforeAll(() => {
  mock = mockServer(
    http.post(DISCORD_ENDPOINTS.token, async ({ request }) => {
      await log.record(request);
      issued += 1;
      return HttpResponse.json({ access_token: `dc-at-${issued}`, token_type: 'Bearer', expires_in: 604800, refresh_token: `dc-rt-${issued}`, scope: 'identify email' });
    }),
    http.post(DISCORD_ENDPOINTS.revocation, async ({ request }) => {
      await log.record(request);
      return HttpResponse.json({});
    }),
    http.get(DISCORD_ENDPOINTS.profile, async ({ request }) => {
      await log.record(request);
      return HttpResponse.json({ id: '80351110224678912', username: 'nelly', global_name: 'Nelly', avatar: '8342729096ea3675442027381ff50dfe', email: 'nelly@example.com', verified: true });
    }),
  );
});
afterEach(() => {
  mock.server.resetHandlers();
  log.clear();
  expect(mock.unhandled).toEqual([]);
});
afterAll(() => mock.close());

function discord(): DiscordProvider {
  return new DiscordProvider(providerConfig({ type: 'discord', id: 'discord', clientId: '1234567890' }), { retryDelayMs: 5 });
}

describe('Discord authorization URL', () => {
  it('uses the fixed authorize endpoint, identify+email scopes and PKCE S256, without a nonce', async () => {
    const url = await discord().authorizationUrl({ state: 'st-1', codeChallenge: 'ch-1', nonce: 'ignored', redirectUri: 'https://app.example.com/auth/callback' });
    expect(`${url.origin}${url.pathname}`).toBe('https://discord.com/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: '1234567890',
      redirect_uri: 'https://app.example.com/auth/callback',
      scope: 'identify email',
      state: 'st-1',
      code_challenge: 'ch-1',
      code_challenge_method: 'S256',
    });
    expect(discord()).toMatchObject({ type: 'discord', oidc: false, ready: true, issuer: undefined });
  });
});

describe('Discord token endpoint', () => {
  it('exchanges the code as a form post with client_secret_basic', async () => {
    const tokens = await discord().exchangeCode('dc-code', 'verifier-1', 'https://app.example.com/auth/callback');
    const sent = log.last();
    expect(sent.url.href).toBe('https://discord.com/api/oauth2/token');
    expect(sent.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(basicCredentials(sent)).toEqual(['1234567890', 'secret-s3cr3t-value']);
    expect(formOf(sent)).toEqual({ grant_type: 'authorization_code', code: 'dc-code', redirect_uri: 'https://app.example.com/auth/callback', code_verifier: 'verifier-1' });
    expect(tokens).toMatchObject({ expiresIn: 604800, scope: 'identify email' });
    expect(tokens.refreshToken).toMatch(/^dc-rt-/);
  });

  it('rotates the refresh token on every refresh', async () => {
    const first = await discord().refresh('dc-rt-old');
    expect(formOf(log.last())).toEqual({ grant_type: 'refresh_token', refresh_token: 'dc-rt-old' });
    const second = await discord().refresh(first.refreshToken ?? '');
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(formOf(log.last())['refresh_token']).toBe(first.refreshToken);
  });

  it('a 429 is transient and carries the retry_after delay', async () => {
    mock.server.use(
      http.post(DISCORD_ENDPOINTS.token, () => HttpResponse.json({ message: 'You are being rate limited.', retry_after: 1.5, global: false }, { status: 429 })),
    );
    const err = (await rejectionOf(discord().refresh('dc-rt-old'))) as ProviderError;
    expect(err).toMatchObject({ transient: true, httpStatus: 429, retryAfter: 2, grantRevoked: false });
    expectNoSecrets(err, ['dc-rt-old', 'secret-s3cr3t-value']);
  });

  it('a 429 Retry-After header wins over the body', async () => {
    mock.server.use(http.post(DISCORD_ENDPOINTS.token, () => HttpResponse.json({ retry_after: 1.5 }, { status: 429, headers: { 'retry-after': '7' } })));
    const err = (await rejectionOf(discord().refresh('dc-rt-old'))) as ProviderError;
    expect(err.retryAfter).toBe(7);
  });
});

describe('Discord profile', () => {
  it('reads /users/@me with the Bearer token and builds the CDN avatar URL', async () => {
    const profile = await discord().identify(new ProviderTokens({ accessToken: 'dc-at-9' }));
    expect(log.last().headers.get('authorization')).toBe('Bearer dc-at-9');
    expect(profile).toEqual({
      sub: '80351110224678912',
      name: 'Nelly',
      email: 'nelly@example.com',
      picture: 'https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png',
    });
  });

  it('falls back to the username and leaves the picture out without an avatar', async () => {
    mock.server.use(http.get(DISCORD_ENDPOINTS.profile, () => HttpResponse.json({ id: '42', username: 'nelly', global_name: null, avatar: null })));
    await expect(discord().identify(new ProviderTokens({ accessToken: 'dc-at-9' }))).resolves.toEqual({ sub: '42', name: 'nelly' });
  });
});

describe('Discord revocation', () => {
  it('revokes refresh then access token with token_type_hint and client_secret_basic', async () => {
    await expect(discord().revoke({ accessToken: 'dc-at-1', refreshToken: 'dc-rt-1' })).resolves.toMatchObject({ outcome: 'revoked' });
    expect(log.requests.map((request) => formOf(request))).toEqual([
      { token: 'dc-rt-1', token_type_hint: 'refresh_token' },
      { token: 'dc-at-1', token_type_hint: 'access_token' },
    ]);
    for (const request of log.requests) {
      expect(request.url.href).toBe('https://discord.com/api/oauth2/token/revoke');
      expect(basicCredentials(request)).toEqual(['1234567890', 'secret-s3cr3t-value']);
    }
  });

  it('reports failed when Discord is rate limiting', async () => {
    mock.server.use(http.post(DISCORD_ENDPOINTS.revocation, () => HttpResponse.json({ retry_after: 3 }, { status: 429 })));
    await expect(discord().revoke({ refreshToken: 'dc-rt-1' })).resolves.toMatchObject({ outcome: 'failed' });
  });

  it('has no end-session URL and no back-channel logout', async () => {
    expect(discord().endSessionUrl()).toBeUndefined();
    await expect(discord().verifyLogoutToken()).rejects.toBeInstanceOf(BadRequestError);
  });
});
