import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { ConfigError } from '../../src/errors.ts';
import type { RedisConfig } from '../../src/config/schema.ts';
import { replicationWaitOf } from '../../src/store/replicated-writes.ts';

const keyEnv = {
  TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`,
  TOKENGATE_COOKIE_KEYS: generateKey(),
};

const minimal = `
publicOrigin: https://app.example.com
providers:
  - id: corp
    type: oidc
    issuer: https://login.example.com
    clientId: tg
    clientSecret: s3cret
routes:
  - prefix: /api
    upstream: http://127.0.0.1:3000
`;

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('loading a valid configuration', () => {
  it('applies defaults and converts durations to milliseconds', () => {
    const config = loadConfig({ text: minimal, env: keyEnv });
    expect(config.publicOrigin).toBe('https://app.example.com');
    expect(config.store).toEqual({ type: 'memory' });
    expect(config.tokens.refreshBuffer).toBe(5 * 60_000);
    expect(config.session.idleTimeout).toBe(30 * 60_000);
    expect(config.routes[0]).toMatchObject({ prefix: '/api', auth: 'required', stripPrefix: false, replayBodyLimit: 1024 * 1024, timeout: 30_000 });
    expect(config.csrf).toEqual({ header: 'x-csrf', value: '1', allowedOrigins: [] });
  });

  it('freezes the result deeply', () => {
    const config = loadConfig({ text: minimal, env: keyEnv });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.routes[0])).toBe(true);
    expect(() => {
      (config.tokens as { refreshBuffer: number }).refreshBuffer = 1;
    }).toThrow(TypeError);
  });

  it('accepts the documented example and the dev setup', () => {
    const env = {
      ...keyEnv,
      TOKENGATE_KEY_K2026A: generateKey(),
      CORP_CLIENT_SECRET: 'a',
      GOOGLE_CLIENT_SECRET: 'b',
      GITHUB_CLIENT_SECRET: 'c',
      DISCORD_CLIENT_SECRET: 'd',
      REDIS_PASSWORD: 'p',
      TOKENGATE_COOKIE_KEYS: generateKey(),
      TOKENGATE_PROVIDER_DEV_CLIENT_SECRET: 'dev',
    };
    const dir = mkdtempSync(join(tmpdir(), 'tg-config-'));
    const cookieFile = join(dir, 'cookie-key');
    writeFileSync(cookieFile, `${generateKey()}\n`);
    const example = loadConfig({ file: 'config/gateway.example.yaml', env: { ...env, TOKENGATE_COOKIE_KEYS_FILE: cookieFile, TOKENGATE_COOKIE_KEYS: '' } });
    expect(example.providers.map((p) => p.type)).toEqual(['oidc', 'google', 'github', 'discord']);
    expect(example.store.type).toBe('redis');
    const dev = loadConfig({ file: 'config/dev.yaml', env });
    expect(dev.store.type).toBe('memory');
  });
});

describe('secrets from the environment and from files', () => {
  it('reads { env } and { file } references', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-config-'));
    const file = join(dir, 'secret');
    writeFileSync(file, 'from-file\n');
    const text = minimal.replace('clientSecret: s3cret', `clientSecret: { file: ${file} }`);
    expect(loadConfig({ text, env: keyEnv }).providers[0]!.clientSecret).toBe('from-file');
    const viaEnv = minimal.replace('clientSecret: s3cret', 'clientSecret: { env: CORP_SECRET }');
    expect(loadConfig({ text: viaEnv, env: { ...keyEnv, CORP_SECRET: 'from-env' } }).providers[0]!.clientSecret).toBe('from-env');
  });

  it('lets TOKENGATE_* variables and their _FILE forms override secrets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-config-'));
    const file = join(dir, 'client-secret');
    writeFileSync(file, 'mounted');
    const config = loadConfig({
      text: minimal,
      env: { ...keyEnv, TOKENGATE_PROVIDER_CORP_CLIENT_SECRET_FILE: file, TOKENGATE_REDIS_URL: 'redis://127.0.0.1:6390' },
    });
    expect(config.providers[0]!.clientSecret).toBe('mounted');
    expect(config.store).toMatchObject({ type: 'redis', redis: { url: 'redis://127.0.0.1:6390' } });
  });

  it('takes several encryption keys in order, first one sealing', () => {
    const env = { ...keyEnv, TOKENGATE_ENCRYPTION_KEYS: `new:${generateKey()}, old:${generateKey()}` };
    expect(loadConfig({ text: minimal, env }).keys.encryption.map((k) => k.kid)).toEqual(['new', 'old']);
  });
});

describe('every problem is reported at once, with its path', () => {
  it('collects schema, secret and cross-field problems together', () => {
    const text = `
publicOrigin: http://app.example.com
listen: { port: 99999 }
store: { type: memory }
workers: 4
providers:
  - id: corp
    type: oidc
    issuer: not-a-url
    clientId: tg
    clientSecret: { env: MISSING_SECRET }
  - id: corp
    type: github
    clientId: x
    clientSecret: y
routes:
  - prefix: api
    upstream: ftp://example.com
  - prefix: /auth
    upstream: http://127.0.0.1:1
    provider: nobody
session: { idleTimeout: 5 minutes }
`;
    const issues = issuesOf(() => loadConfig({ text, env: { TOKENGATE_ENCRYPTION_KEYS: 'k1:c2hvcnQ=', TOKENGATE_COOKIE_KEYS: 'short' } }));
    const paths = issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'listen.port',
        'providers.0.clientSecret',
        'providers.0.issuer',
        'routes.0.prefix',
        'routes.0.upstream',
        'session.idleTimeout',
        'keys.encryption.0.key',
        'keys.cookie.0',
      ]),
    );
    expect(issues.find((issue) => issue.path === 'keys.encryption.0.key')!.message).toMatch(/at least 32 bytes/);
    expect(issues.find((issue) => issue.path === 'providers.0.clientSecret')!.message).toMatch(/MISSING_SECRET is not set/);
  });

  it('reports cross-field rules once the fields themselves are valid', () => {
    const text = `${minimal}
  - prefix: /api
    upstream: http://127.0.0.1:3001
    provider: nobody
  - prefix: /auth/x
    upstream: http://127.0.0.1:3002
workers: 2
`.replace('https://app.example.com', 'http://app.example.com');
    const issues = issuesOf(() => loadConfig({ text, env: keyEnv }));
    expect(issues.map((issue) => issue.path).sort()).toEqual(['publicOrigin', 'routes.1.prefix', 'routes.1.provider', 'routes.2.prefix', 'workers']);
    expect(issues.find((issue) => issue.path === 'workers')!.message).toMatch(/memory store/);
  });

  it('reports field rules next to type errors, and never crashes on malformed values', () => {
    const text = `
publicOrigin: nope
providers:
  - 7
routes:
  - 5
  - { prefix: /auth/x, upstream: http://127.0.0.1:1 }
session: { idleTimeout: 13h }
`;
    const issues = issuesOf(() => loadConfig({ text, env: keyEnv }));
    expect(issues.map((issue) => issue.path).sort()).toEqual(['providers.0', 'publicOrigin', 'routes.0', 'routes.1.prefix', 'session.absoluteTimeout']);
  });

  it('allows plain http on loopback only', () => {
    for (const origin of ['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080']) {
      expect(loadConfig({ text: minimal.replace('https://app.example.com', origin), env: keyEnv }).publicOrigin).toBe(origin);
    }
  });

  it('never echoes a secret value in a message', () => {
    const secretKey = 'c2VjcmV0LWJ1dC10b28tc2hvcnQ=';
    const issues = issuesOf(() => loadConfig({ text: minimal, env: { ...keyEnv, TOKENGATE_ENCRYPTION_KEYS: `k:${secretKey}` } }));
    expect(JSON.stringify(issues)).not.toContain(secretKey);
  });

  it('reports YAML syntax errors and an unreadable file clearly', () => {
    expect(issuesOf(() => loadConfig({ text: 'publicOrigin: [unclosed', env: keyEnv }))[0]!.message).toMatch(/^YAML:/);
    expect(issuesOf(() => loadConfig({ file: '/nonexistent/tokengate.yaml', env: keyEnv }))[0]!.message).toMatch(/cannot read config file.*ENOENT/);
  });

  it('rejects unknown options instead of ignoring them', () => {
    const issues = issuesOf(() => loadConfig({ text: `${minimal}\nrefreshBufer: 5m\n`, env: keyEnv }));
    expect(issues[0]!.message).toMatch(/refreshBufer/);
  });
});

describe('a route’s own token (resource, exchange)', () => {
  const withGithub = minimal.replace('routes:', `  - id: gh
    type: github
    clientId: gh
    clientSecret: s3cret
routes:`);

  it('accepts a resource indicator or a token exchange on a route', () => {
    const text = `${minimal}
  - prefix: /orders
    upstream: http://127.0.0.1:3001
    resource: https://orders.example.com
  - prefix: /reports
    upstream: http://127.0.0.1:3002
    exchange: { audience: reports-api, scope: reports.read reports.list }
`;
    const routes = loadConfig({ text, env: keyEnv }).routes;
    expect(routes[1]!.resource).toBe('https://orders.example.com');
    expect(routes[2]!.exchange).toEqual({ audience: 'reports-api', scope: 'reports.read reports.list' });
  });

  it('refuses both on one route, on a public route, from a provider that cannot issue them, and malformed values', () => {
    const text = `${withGithub}
  - prefix: /both
    upstream: http://127.0.0.1:3001
    resource: https://orders.example.com
    exchange: { audience: reports }
  - prefix: /public
    upstream: http://127.0.0.1:3002
    auth: public
    resource: https://orders.example.com
  - prefix: /gh
    upstream: http://127.0.0.1:3003
    provider: gh
    exchange: { audience: reports }
  - prefix: /fragment
    upstream: http://127.0.0.1:3004
    resource: https://orders.example.com/#x
  - prefix: /relative
    upstream: http://127.0.0.1:3005
    resource: /orders
  - prefix: /pipe
    upstream: http://127.0.0.1:3006
    exchange: { audience: "a|b" }
`;
    const issues = issuesOf(() => loadConfig({ text, env: keyEnv }));
    expect(issues.map((issue) => issue.path).sort()).toEqual(['routes.1.exchange', 'routes.2.resource', 'routes.3.exchange', 'routes.4.resource', 'routes.5.resource', 'routes.6.exchange.audience']);
    expect(issues.find((issue) => issue.path === 'routes.3.exchange')!.message).toMatch(/oidc provider/);
  });
});

describe('DPoP (provider option dpop)', () => {
  const withDpop = minimal.replace('    clientSecret: s3cret\n', '    clientSecret: s3cret\n    dpop: true\n');

  it('is off by default and on where the provider says so', () => {
    expect(loadConfig({ text: minimal, env: keyEnv }).providers[0]).toMatchObject({ dpop: false });
    expect(loadConfig({ text: withDpop, env: keyEnv }).providers[0]).toMatchObject({ dpop: true });
  });

  it('is refused together with forward-auth, which cannot sign a proof for the request the ingress sends', () => {
    const text = `${withDpop}forwardAuth: { enabled: true, sharedSecret: ${'x'.repeat(32)} }\n`;
    const issues = issuesOf(() => loadConfig({ text, env: keyEnv }));
    expect(issues.map((issue) => issue.path)).toEqual(['providers.0.dpop']);
    expect(issues[0]!.message).toMatch(/forward-auth/);
  });

  it('exists for OpenID providers only', () => {
    const google = withDpop.replace('type: oidc\n    issuer: https://login.example.com', 'type: google');
    expect(issuesOf(() => loadConfig({ text: google, env: keyEnv })).map((issue) => issue.path)).toEqual(['providers.0.dpop']);
  });
});

describe('the Redis replication wait (store.redis.replicationWait)', () => {
  const withRedis = (redis: string) => `${minimal}store:\n  type: redis\n  redis:\n${redis}`;

  it('needs no setting with a short command timeout: the default wait stays below it', () => {
    const config = loadConfig({ text: withRedis('    url: redis://127.0.0.1:6379\n    commandTimeout: 200ms\n'), env: keyEnv });
    expect(config.store).toMatchObject({ type: 'redis', redis: { commandTimeout: 200, replicationWait: {} } });
    expect(replicationWaitOf((config.store as { redis: RedisConfig }).redis)).toEqual({ replicas: 0, timeoutMs: 100 });
    const cluster = loadConfig({ text: withRedis('    cluster:\n      nodes: [{ host: 127.0.0.1, port: 7000 }]\n'), env: keyEnv });
    expect(replicationWaitOf((cluster.store as { redis: RedisConfig }).redis)).toEqual({ replicas: 1, timeoutMs: 500 });
  });

  it('refuses a wait timeout that is not below the command timeout', () => {
    const issues = issuesOf(() => loadConfig({ text: withRedis('    url: redis://127.0.0.1:6379\n    commandTimeout: 1s\n    replicationWait: { replicas: 1, timeout: 1s }\n'), env: keyEnv }));
    expect(issues).toEqual([expect.objectContaining({ path: 'store.redis.replicationWait.timeout', message: 'must be at least 1ms and less than commandTimeout' })]);
  });
});
