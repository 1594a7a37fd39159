import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { newTransaction, storeTransaction, takeTransaction } from '../src/auth/transaction.ts';
import { liveConfig } from '../src/config/live-config.ts';
import { configSchema, type ConfigInput } from '../src/config/schema.ts';
import { CENSOR, createLogger } from '../src/observability/index.ts';
import { ProviderTokens } from '../src/providers/types.ts';
import { PRESENT, SecretHolder } from '../src/secret.ts';
import { MemoryStore } from '../src/store/memory.ts';
import { BearerToken } from '../src/tokens/bearer-token.ts';
import { OpenTokenSet } from '../src/tokens/token-set.ts';

/**
 * Secrets are hidden by default: every value that holds one is printed here the ways code prints
 * things (util.inspect, JSON.stringify, a bare pino logger with no redaction, and Tokengate's own
 * logger), and each printout is read: no secret value, the allowlisted fields with their values.
 */

/** Every printout of `value`. */
function printouts(value: unknown): Record<string, string> {
  const bare: string[] = [];
  const ours: string[] = [];
  const sink = (lines: string[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
  pino({ level: 'info' }, sink(bare)).info({ value }, 'printing');
  createLogger({ level: 'info', destination: sink(ours) }).info({ value }, 'printing');
  return {
    inspect: inspect(value, { depth: 8 }),
    json: JSON.stringify(value),
    pino: bare.join(''),
    logger: ours.join(''),
  };
}

function expectHidden(value: unknown, secrets: readonly string[], shown: readonly string[]): void {
  for (const [how, text] of Object.entries(printouts(value))) {
    for (const secret of secrets) expect(text.includes(secret), `${how} shows a secret`).toBe(false);
    for (const fact of shown) expect(text.includes(fact), `${how} lacks ${fact}`).toBe(true);
    // Tokengate's logger censors known secret keys on top (its backstop): '[redacted]' there.
    expect(text.includes(PRESENT) || (how === 'logger' && text.includes(CENSOR)), `${how} does not mark the secrets`).toBe(true);
  }
}

const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

describe('printing goes by an allowlist', () => {
  it('a field the type does not name as printable is hidden, whatever its name', () => {
    const added = secret('added');
    class Holder extends SecretHolder {
      readonly label = 'shown-label';
      readonly addedLater = added;
      readonly nothing = undefined;
      constructor() {
        super(['label']);
      }
    }
    expectHidden(new Holder(), [added], ['shown-label']);
    expect(JSON.parse(JSON.stringify(new Holder()))).toEqual({ label: 'shown-label', addedLater: PRESENT });
  });
});

describe('token holders print their tokens as [present]', () => {
  it('an opened token set', () => {
    const tokens = { accessToken: secret('at'), refreshToken: secret('rt'), idToken: secret('idt') };
    const set = new OpenTokenSet({ ver: 7, ...tokens, expiresAt: 1_700_000_123_000, obtainedAt: 1_700_000_000_000, scope: 'openid email', tokenType: 'Bearer' });
    expectHidden(set, Object.values(tokens), ['1700000123000', 'openid email', 'Bearer']);
  });

  it('the tokens a provider answered', () => {
    const tokens = { accessToken: secret('at'), refreshToken: secret('rt'), idToken: secret('idt') };
    expectHidden(new ProviderTokens({ ...tokens, expiresIn: 3599, scope: 'read:user' }), Object.values(tokens), ['3599', 'read:user']);
  });

  it('the bearer token for one request', () => {
    const accessToken = secret('at');
    expectHidden(new BearerToken({ accessToken, ver: 4, expiresAt: 1_700_000_999_000, outcome: 'coalesced' }), [accessToken], ['1700000999000', 'coalesced']);
  });
});

describe('a login transaction prints only its provider, returnTo and createdAt', () => {
  it('state, verifier, nonce, the previous session and the address are [present]', async () => {
    const previousSid = secret('sid');
    const transaction = newTransaction({ id: 'corp', oidc: true }, '/reports?week=12', 1_700_000_000_555, { previousSid, address: '203.0.113.9' });
    expectHidden(transaction, [transaction.state, transaction.codeVerifier, transaction.nonce!, previousSid, '203.0.113.9'], ['corp', '/reports?week=12', '1700000000555']);
  });

  it('is still stored whole and taken back whole', async () => {
    const store = new MemoryStore();
    const transaction = newTransaction({ id: 'corp', oidc: true }, '/', Date.now(), { previousSid: secret('sid') });
    await storeTransaction(store, 'tx-1', transaction, 60_000);
    const taken = await takeTransaction(store, 'tx-1');
    expect({ ...taken }).toEqual({ ...transaction });
    await store.close();
  });
});

describe('the config parts that hold keys and secrets print them as [present]', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const secrets = {
    encryptionKey: randomBytes(32).toString('base64url'),
    cookieKey: randomBytes(32).toString('base64url'),
    googleSecret: secret('google'),
    corpSecret: secret('corp'),
    sharedSecret: secret('shared'),
    redisPassword: secret('redis'),
    urlPassword: secret('inurl'),
  };
  const input = {
    publicOrigin: 'https://app.example.com',
    keys: { encryption: [{ kid: 'k2026', key: secrets.encryptionKey }], cookie: [secrets.cookieKey] },
    store: { type: 'redis', redis: { url: `redis://:${secrets.urlPassword}@redis.internal:6379/0`, password: secrets.redisPassword, keyPrefix: 'tgx:' } },
    providers: [
      { id: 'google', type: 'google', clientId: 'google-client-id', clientSecret: secrets.googleSecret },
      { id: 'corp', type: 'oidc', issuer: 'https://login.example.com', clientId: 'corp-client-id', clientSecret: secrets.corpSecret, tokenEndpointAuthMethod: 'private_key_jwt', privateKey: pem },
    ],
    routes: [{ prefix: '/api', upstream: 'https://api.internal' }],
    forwardAuth: { enabled: true, sharedSecret: secrets.sharedSecret, secretHeader: 'x-ingress-secret' },
  } satisfies ConfigInput;
  const keyLines = pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
  const hidden = [...Object.values(secrets), ...keyLines];

  it('the whole config', () => {
    const config = configSchema.parse(input);
    expectHidden(config, hidden, ['k2026', 'google-client-id', 'corp-client-id', 'private_key_jwt', 'https://login.example.com', 'x-ingress-secret', 'tgx:', 'https://api.internal']);
  });

  it('each part on its own', () => {
    const config = configSchema.parse(input);
    expectHidden(config.keys, hidden, ['k2026']);
    expectHidden(config.providers[1], hidden, ['corp-client-id', 'private_key_jwt']);
    expectHidden(config.forwardAuth, hidden, ['x-ingress-secret']);
    expect(config.store.type).toBe('redis');
    if (config.store.type === 'redis') expectHidden(config.store.redis, hidden, ['tgx:']);
  });

  it('the running config, whose forward-auth secret a key reload replaces', () => {
    const live = liveConfig(configSchema.parse(input));
    const replaced = secret('reloaded');
    live.setForwardAuthSecret(replaced);
    expect(live.config.forwardAuth.sharedSecret).toBe(replaced);
    expectHidden(live.config, [...hidden, replaced], ['x-ingress-secret', 'corp-client-id']);
  });

  it('the secrets are still there for the code that uses them', () => {
    const config = configSchema.parse(input);
    expect(config.keys.cookie).toEqual([secrets.cookieKey]);
    expect(config.providers[0]!.clientSecret).toBe(secrets.googleSecret);
    expect(config.forwardAuth.sharedSecret).toBe(secrets.sharedSecret);
  });
});
