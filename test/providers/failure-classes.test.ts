import { delay, http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { DISCORD_ENDPOINTS, DiscordProvider } from '../../src/providers/discord.ts';
import { GithubProvider } from '../../src/providers/github.ts';
import { GOOGLE_ENDPOINTS, GoogleProvider } from '../../src/providers/google.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import type { Provider } from '../../src/providers/types.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';
import { mockServer, type MockProviders } from './support/msw.ts';
import { expectNoSecrets, rejectionOf } from './support/secrets.ts';

/**
 * The failure classes every provider shares, at the token endpoint, for both the code exchange
 * and the refresh: what is transient (network, timeout, 5xx, 429), what is final, and that no
 * error carries the code, the verifier, the refresh token or the client secret.
 */

const CODE = 'code-S3CRET-1';
const VERIFIER = 'verifier-S3CRET-2';
const REFRESH = 'rt-S3CRET-3';
const CLIENT_SECRET = 'client-S3CRET-4';
const SECRETS = [CODE, VERIFIER, REFRESH, CLIENT_SECRET];
// Long enough for a cold discovery on a busy machine, short enough for eight timeout tests.
const TIMEOUT = '500ms';
const LATE_MS = 1500;

type Scenario = { status: number; body: string; type: string } | 'timeout' | 'network';

interface Harness {
  provider(): Provider;
  answer(scenario: Scenario): void;
}

let mock: MockProviders;
let op: FakeOpenIdProvider;

function viaMsw(url: string): (scenario: Scenario) => void {
  return (scenario) =>
    mock.server.use(
      http.post(url, async () => {
        if (scenario === 'network') return HttpResponse.error();
        if (scenario === 'timeout') {
          await delay(LATE_MS);
          return HttpResponse.json({ access_token: 'late' });
        }
        return new HttpResponse(scenario.body, { status: scenario.status, headers: { 'content-type': scenario.type } });
      }),
    );
}

const harnesses: Record<string, Harness> = {
  oidc: {
    provider: () => new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, clientSecret: CLIENT_SECRET, timeout: TIMEOUT }), { retryDelayMs: 5 }),
    answer: (scenario) =>
      op.on('POST /token', () => {
        if (scenario === 'network') return { destroy: true };
        if (scenario === 'timeout') return { delayMs: LATE_MS, body: { access_token: 'late' } };
        return { status: scenario.status, body: scenario.body, headers: { 'content-type': scenario.type } };
      }),
  },
  google: {
    provider: () => new GoogleProvider(providerConfig({ type: 'google', id: 'google', clientSecret: CLIENT_SECRET, timeout: TIMEOUT }), { retryDelayMs: 5 }),
    answer: viaMsw(GOOGLE_ENDPOINTS.token),
  },
  github: {
    provider: () => new GithubProvider(providerConfig({ type: 'github', id: 'github', clientSecret: CLIENT_SECRET, timeout: TIMEOUT }), { retryDelayMs: 5 }),
    answer: viaMsw('https://github.com/login/oauth/access_token'),
  },
  discord: {
    provider: () => new DiscordProvider(providerConfig({ type: 'discord', id: 'discord', clientSecret: CLIENT_SECRET, timeout: TIMEOUT }), { retryDelayMs: 5 }),
    answer: viaMsw(DISCORD_ENDPOINTS.token),
  },
};

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
  mock = mockServer();
});
afterEach(() => {
  mock.server.resetHandlers();
  op.reset();
  expect(mock.unhandled).toEqual([]);
});
afterAll(async () => {
  mock.close();
  await op.close();
});

const json = (status: number, body: unknown): Scenario => ({ status, body: JSON.stringify(body), type: 'application/json' });
const html = (status: number): Scenario => ({ status, body: `<html><body>Error for ${CODE} / ${REFRESH}</body></html>`, type: 'text/html' });

const operations = {
  'code exchange': (provider: Provider) => provider.exchangeCode(CODE, VERIFIER, 'https://app.example.com/auth/callback'),
  refresh: (provider: Provider) => provider.refresh(REFRESH),
};

for (const [name, harness] of Object.entries(harnesses)) {
  for (const [operation, run] of Object.entries(operations)) {
    describe(`${name} ${operation} failure classes`, () => {
      async function failWith(scenario: Scenario): Promise<ProviderError> {
        harness.answer(scenario);
        const err = await rejectionOf(run(harness.provider()));
        expect(err).toBeInstanceOf(ProviderError);
        expectNoSecrets(err, SECRETS);
        return err as ProviderError;
      }

      it('a 500 is transient', async () => {
        expect(await failWith(json(500, { error: 'server_error' }))).toMatchObject({ transient: true, httpStatus: 500, grantRevoked: false });
      });

      it('a 503 HTML page is transient', async () => {
        expect(await failWith(html(503))).toMatchObject({ transient: true, httpStatus: 503 });
      });

      it('a timeout is transient', async () => {
        const err = await failWith('timeout');
        expect(err.transient).toBe(true);
        expect(err.message).toMatch(/timed out/);
      });

      it('a dropped connection is transient', async () => {
        expect((await failWith('network')).transient).toBe(true);
      });

      it('an HTML page with 200 is a final error', async () => {
        expect(await failWith(html(200))).toMatchObject({ transient: false, httpStatus: 200, oauthError: undefined });
      });

      it('invalid JSON with 400 is a final error', async () => {
        expect(await failWith({ status: 400, body: '{"error": "invalid_gr', type: 'application/json' })).toMatchObject({ transient: false, httpStatus: 400, oauthError: undefined });
      });

      it('invalid_grant means the grant is gone, whatever the description echoes', async () => {
        const err = await failWith(json(400, { error: 'invalid_grant', error_description: `grant ${CODE} ${REFRESH} is invalid` }));
        expect(err).toMatchObject({ transient: false, oauthError: 'invalid_grant', grantRevoked: true, httpStatus: 400 });
      });

      it('a 429 is transient', async () => {
        expect(await failWith(json(429, { error: 'slow_down' }))).toMatchObject({ transient: true, httpStatus: 429 });
      });

      it('a 200 without an access token is a final error', async () => {
        expect(await failWith(json(200, { token_type: 'Bearer' }))).toMatchObject({ transient: false });
      });
    });
  }
}
