import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { closest } from '../../src/config/messages.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { ConfigError, type ConfigIssue } from '../../src/errors.ts';

/**
 * Issue 12, item 4: the loader's messages are for people. "required" instead of zod's raw text,
 * "did you mean" for unknown keys, one problem reported once, secrets named by their variables.
 */

const keyEnv = { TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`, TOKENGATE_COOKIE_KEYS: generateKey() };

const provider = '  - { id: corp-sso, type: oidc, issuer: https://login.example.com, clientId: tg, clientSecret: s3cret }';

function issuesOf(text: string, env: Record<string, string> = keyEnv): ConfigIssue[] {
  try {
    loadConfig({ text, env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('configuration messages', () => {
  it('a missing field is "required", never zod\'s raw text', () => {
    const issues = issuesOf('routes: []\n');
    expect(issues).toEqual([
      { path: 'publicOrigin', message: 'required' },
      { path: 'providers', message: 'required' },
    ]);
    expect(JSON.stringify(issues)).not.toMatch(/Invalid input|received undefined/);
  });

  it('a missing secret names its environment variables, with the _FILE form', () => {
    const issues = issuesOf('publicOrigin: https://app.example.com\nproviders:\n  - { id: corp-sso, type: oidc, issuer: https://login.example.com, clientId: tg }\n', {});
    expect(issues).toEqual([
      {
        path: 'keys',
        message:
          'required: set it here, or in the environment as TOKENGATE_ENCRYPTION_KEYS (or TOKENGATE_ENCRYPTION_KEYS_FILE, a file holding it) and TOKENGATE_COOKIE_KEYS (or TOKENGATE_COOKIE_KEYS_FILE, a file holding it)',
      },
      {
        path: 'providers.0.clientSecret',
        message: 'required: set it here, or in the environment as TOKENGATE_PROVIDER_CORP_SSO_CLIENT_SECRET (or TOKENGATE_PROVIDER_CORP_SSO_CLIENT_SECRET_FILE, a file holding it)',
      },
    ]);
    expect(issuesOf(`publicOrigin: https://app.example.com\nkeys: { cookie: ["${generateKey()}"] }\nproviders:\n${provider}\n`, {})).toEqual([
      { path: 'keys.encryption', message: 'required: set it here, or in the environment as TOKENGATE_ENCRYPTION_KEYS (or TOKENGATE_ENCRYPTION_KEYS_FILE, a file holding it)' },
    ]);
  });

  it('an unknown key says "did you mean" the closest known key at that place', () => {
    const issues = issuesOf(`publicOrigin: https://app.example.com\npublicOrgin: https://x.example.com\nsesion: {}\nproviders:\n${provider}\n  - { id: b, type: github, clientId: x, clientSecret: y, baseUrl: https://github.example.com, apiUrll: https://api.example.com }\nroutes:\n  - { prefix: /api, upstream: http://127.0.0.1:3000, timout: 5s }\nunrelated: 1\n`);
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'publicOrgin', message: 'unknown key "publicOrgin": did you mean "publicOrigin"?' },
        { path: 'sesion', message: 'unknown key "sesion": did you mean "session"?' },
        // The provider's own type decides what is known: github has apiUrl.
        { path: 'providers.1.apiUrll', message: 'unknown key "apiUrll": did you mean "apiUrl"?' },
        { path: 'routes.0.timout', message: 'unknown key "timout": did you mean "timeout"?' },
        { path: 'unrelated', message: 'unknown key "unrelated"' },
      ]),
    );
    expect(issues).toHaveLength(5);
  });

  it('a misspelt required key is one problem, not also a missing field', () => {
    const issues = issuesOf(`publicOrigin: https://app.example.com\nproviders:\n${provider}\nroutes:\n  - { prefix: /api, upstrem: http://127.0.0.1:3000 }\n`);
    expect(issues).toEqual([{ path: 'routes.0.upstrem', message: 'unknown key "upstrem": did you mean "upstream"?' }]);
    expect(issuesOf('publicOrign: https://app.example.com\nprovider: []\n')).toEqual([
      { path: 'publicOrign', message: 'unknown key "publicOrign": did you mean "publicOrigin"?' },
      { path: 'provider', message: 'unknown key "provider": did you mean "providers"?' },
    ]);
  });

  it('a wrong type or choice says what is expected and what came', () => {
    const issues = issuesOf(`publicOrigin: https://app.example.com\nlisten: { port: "80" }\nlogging: { level: loud }\nproviders:\n  - { id: x, type: oidcc, clientId: tg, clientSecret: s }\nroutes: {}\n`);
    expect(issues).toEqual([
      { path: 'listen.port', message: 'expected a number, got a string' },
      { path: 'providers.0.type', message: 'unknown type "oidcc": one of oidc, google, github, discord' },
      { path: 'routes', message: 'expected a list, got a mapping' },
      { path: 'logging.level', message: 'must be one of fatal, error, warn, info, debug, trace, silent; got "loud"' },
    ]);
  });

  it('a too short or too large value says the bound in words', () => {
    const issues = issuesOf(`publicOrigin: https://app.example.com\nlisten: { port: 70000 }\nproviders:\n  - { id: x, type: oidc, issuer: https://l.example.com, clientId: "", clientSecret: s }\nstore: { type: redis, redis: { sentinel: { name: m, sentinels: [] } } }\n`);
    expect(issues).toEqual([
      { path: 'listen.port', message: 'must be at most 65535' },
      { path: 'store.redis.sentinel.sentinels', message: 'needs at least 1 item' },
      { path: 'providers.0.clientId', message: 'must not be empty' },
    ]);
  });

  it('refuses a publicOrigin with a path, query or fragment; a trailing slash is fine', () => {
    for (const origin of ['https://app.example.com/app', 'https://app.example.com/?x=1', 'https://app.example.com/#top']) {
      expect(issuesOf(`publicOrigin: "${origin}"\nproviders:\n${provider}\n`)).toEqual([
        { path: 'publicOrigin', message: 'must be an origin only (scheme://host[:port]), without a path, query or fragment: Tokengate serves /auth/* at the root of it' },
      ]);
    }
    expect(loadConfig({ text: `publicOrigin: https://app.example.com/\nproviders:\n${provider}\n`, env: keyEnv }).publicOrigin).toBe('https://app.example.com');
  });

  it('refuses a Redis URL whose database is not a whole number', () => {
    const redis = (url: string) => `publicOrigin: https://app.example.com\nproviders:\n${provider}\nstore: { type: redis, redis: { url: "${url}" } }\n`;
    expect(issuesOf(redis('redis://127.0.0.1:6379/abc'))).toEqual([
      { path: 'store.redis.url', message: 'the database index must be a whole number (0-15 on a default Redis server), got "abc"' },
    ]);
    expect(issuesOf(redis('redis://127.0.0.1:6379/-1'))).toHaveLength(1);
    expect(issuesOf(redis('redis://127.0.0.1:6379/99999999'))).toHaveLength(1);
    for (const fine of ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/', 'redis://127.0.0.1:6379/3']) {
      expect(loadConfig({ text: redis(fine), env: keyEnv }).store.type).toBe('redis');
    }
  });

  it('never quotes a secret value in a message', () => {
    const secret = 'this-is-a-secret-value';
    const issues = issuesOf(`publicOrigin: https://app.example.com\nproviders:\n  - { id: x, type: oidc, issuer: https://l.example.com, clientId: tg, clientSecret: ${secret}, clientSecrett: ${secret} }\nforwardAuth: { enabled: true, sharedSecret: 5 }\n`);
    expect(JSON.stringify(issues)).not.toContain(secret);
  });
});

describe('closest', () => {
  it('offers a key within a small edit distance, else nothing', () => {
    expect(closest('upstrem', ['upstream', 'prefix'])).toBe('upstream');
    expect(closest('PublicOrigin', ['publicOrigin'])).toBe('publicOrigin');
    expect(closest('zzz', ['upstream', 'prefix'])).toBeUndefined();
  });
});
