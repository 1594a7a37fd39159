import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { closeServer, listenOnLoopback } from '../../demo/listen.ts';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle, type OpenIdProviderOptions } from '../../demo/op.ts';
import { sealTokenSet } from '../../src/tokens/token-set.ts';
import { providerSchema } from '../../src/config/schema.ts';
import { Keyring } from '../../src/crypto/keyring.ts';
import { createProviders } from '../../src/providers/index.ts';
import type { Provider, ProviderTokens } from '../../src/providers/types.ts';
import { newSessionId } from '../../src/session/session-id.ts';
import type { SessionRecord, Store } from '../../src/store/types.ts';
import { completeProviderForms } from '../support/login.ts';
import { BrowserClient } from '../support/http.ts';

/**
 * What the token-service tests run against: the real demo OpenID Provider, the real OIDC provider
 * client of src/providers, a keyring, and a login that obtains a real grant by the authorization
 * code flow (PKCE) through the provider's own forms, then stores it as a new session exactly as a
 * login through the gateway would.
 */

export const PROVIDER_ID = 'op';

export interface LoggedIn {
  sid: string;
  session: SessionRecord;
  /** What the provider issued at login (the test's own view, never logged). */
  issued: ProviderTokens;
}

export interface CapturedLogs {
  logger: Logger;
  lines: string[];
  /** Parsed log records. */
  records(): Array<Record<string, unknown>>;
}

export interface TokenFixture {
  op: OpenIdProviderHandle;
  providers: Map<string, Provider>;
  keyring: Keyring;
  login(store: Store, now?: number): Promise<LoggedIn>;
  close(): Promise<void>;
}

export function captureLogs(level: pino.Level = 'debug'): CapturedLogs {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export function testKeyring(): Keyring {
  return new Keyring([{ kid: 'k1', key: randomBytes(32).toString('base64url') }]);
}

export async function startTokenFixture(options: Omit<OpenIdProviderOptions, 'clients'> & { providerTimeout?: string } = {}): Promise<TokenFixture> {
  const callback = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the relying party');
  });
  const callbackPort = await listenOnLoopback(callback);
  const redirectUri = `http://127.0.0.1:${callbackPort}/cb`;
  const clientSecret = randomBytes(24).toString('base64url');
  const op = await startOpenIdProvider({ ...options, clients: [{ clientId: 'tokengate-test', clientSecret, redirectUris: [redirectUri] }] });
  const config = providerSchema.parse({
    id: PROVIDER_ID,
    type: 'oidc',
    issuer: op.issuer,
    clientId: 'tokengate-test',
    clientSecret,
    timeout: options.providerTimeout ?? '2s',
  });
  const providers = createProviders([config]);
  const provider = providers.get(PROVIDER_ID)!;
  await provider.init();
  const keyring = testKeyring();

  return {
    op,
    providers,
    keyring,
    async login(store, now = Date.now()) {
      const verifier = randomBytes(32).toString('base64url');
      const url = await provider.authorizationUrl({
        state: randomBytes(16).toString('base64url'),
        nonce: randomBytes(16).toString('base64url'),
        codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
        redirectUri,
      });
      const browser = new BrowserClient();
      const { response } = await completeProviderForms(browser, await browser.navigate(url), new URL(redirectUri).origin, {
        username: DEMO_USER.username,
        password: DEMO_USER.password,
      });
      const code = new URL(response.url).searchParams.get('code');
      if (code === null) throw new Error(`login did not come back with a code (status ${response.status})`);
      const issued = await provider.exchangeCode(code, verifier, redirectUri);
      const sid = newSessionId();
      const session: SessionRecord = { sid, provider: PROVIDER_ID, sub: DEMO_USER.sub, claims: {}, createdAt: now, absoluteExpiresAt: now + 12 * 3600_000 };
      await store.createSession(session, sealTokenSet(keyring, sid, issued, now), 3600_000);
      return { sid, session, issued };
    },
    async close() {
      await op.close();
      await closeServer(callback);
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()): { now: () => number; set(ms: number): void; advance(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    set(ms) {
      current = ms;
    },
    advance(ms) {
      current += ms;
    },
  };
}
