import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { freePort } from '../support/ports.ts';
import { runCli } from './run-cli.ts';

/**
 * `tokengate check-config --online`: each provider and the store by name, OK or FAIL with the
 * cause, exit 0 only when everything answered. Against a real provider, a real redis-server, a
 * closed port, a trailing-slash issuer and an HTTP server that is not a provider.
 */

const skip = skipRedisSuite('check-config --online', 'redis-server');
const dir = mkdtempSync(join(tmpdir(), 'tokengate-online-'));
const clientSecret = generateKey();
const env = {
  TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`,
  TOKENGATE_COOKIE_KEYS: generateKey(),
  TOKENGATE_PROVIDER_OP_CLIENT_SECRET: clientSecret,
  TOKENGATE_PROVIDER_OTHER_CLIENT_SECRET: clientSecret,
  TOKENGATE_REDIS_PASSWORD: 'redis-password-never-printed',
};
let op: OpenIdProviderHandle;
let redis: RedisServer;
let page: Server;

beforeAll(async () => {
  if (skip) return;
  op = await startOpenIdProvider();
  redis = await startRedisServer();
  page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>an app</p>'));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await op?.close();
  await redis?.stop();
  await new Promise<void>((resolve) => (page?.listening ? page.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string, issuers: { op: string; other?: string }, redisUrl: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `publicOrigin: http://127.0.0.1:8080
store: { type: redis, redis: { url: "${redisUrl}" } }
providers:
  - { id: op, type: oidc, issuer: "${issuers.op}", clientId: tg }
${issuers.other === undefined ? '' : `  - { id: other, type: oidc, issuer: "${issuers.other}", clientId: tg }`}
`,
  );
  return file;
}

describe.skipIf(skip)('tokengate check-config --online', () => {
  it('reports each provider and the store OK and exits 0 when everything answers', async () => {
    const file = writeConfig('good.yaml', { op: op.issuer }, redis.url);
    const { code, stdout, stderr } = await runCli(['check-config', '--config', file, '--online'], { env });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`provider op: OK: discovery ${op.issuer}/.well-known/openid-configuration (issuer matches), JWKS ${op.issuer}/`);
    expect(stdout).toMatch(/JWKS \S+ \(\d+ keys?\)/);
    const target = new URL(redis.url);
    expect(stdout).toContain(`store redis ${target.protocol}//${target.host}`);
    expect(stdout).toMatch(/store redis \S+: OK: PING answered/);
  });

  it('names every failure and its cause, and exits 1', async () => {
    const closed = await freePort();
    const file = writeConfig('bad.yaml', { op: `${op.issuer}/`, other: `http://127.0.0.1:${closed}` }, `redis://127.0.0.1:${await freePort()}/0`);
    const { code, stdout, stderr } = await runCli(['check-config', '--config', file, '--online'], { env });
    expect(code).toBe(1);
    expect(stdout).toContain('bad.yaml: OK'); // the file itself is valid
    expect(stderr).toContain(`provider op: FAIL: op: discovery document at ${op.issuer}/.well-known/openid-configuration rejected: the provider's issuer is "${op.issuer}" but the configured issuer is "${op.issuer}/"`);
    expect(stderr).toContain(`provider other: FAIL: other: discovery at http://127.0.0.1:${closed}/.well-known/openid-configuration failed: cannot connect (ECONNREFUSED)`);
    expect(stderr).toMatch(/store redis redis:\/\/127\.0\.0\.1:\d+\/0: FAIL: .*ECONNREFUSED/);
    expect(stderr).toContain('3 of 3 online check(s) failed');
    expect(`${stdout}${stderr}`).not.toContain('redis-password-never-printed');
    expect(`${stdout}${stderr}`).not.toContain(clientSecret);
  });

  it('fails the store whose database index the server does not have', async () => {
    const url = `${redis.url.replace(/\/\d*$/, '')}/99`;
    const { code, stderr } = await runCli(['check-config', '--config', writeConfig('db.yaml', { op: op.issuer }, url), '--online'], { env });
    expect(code).toBe(1);
    expect(stderr).toContain(`store redis ${url}: FAIL: connection setup refused: ERR DB index is out of range`);
  });

  it('fails a provider entry that says par: required when the provider offers no pushed authorization requests', async () => {
    const withoutPar = await startOpenIdProvider({ pushedAuthorizationRequests: { enabled: false } });
    try {
      const file = join(dir, 'par.yaml');
      writeFileSync(
        file,
        `publicOrigin: http://127.0.0.1:8080
store: { type: redis, redis: { url: "${redis.url}" } }
providers:
  - { id: op, type: oidc, issuer: "${withoutPar.issuer}", clientId: tg, par: required }
  - { id: other, type: oidc, issuer: "${op.issuer}", clientId: tg, par: required }
`,
      );
      const { code, stdout, stderr } = await runCli(['check-config', '--config', file, '--online'], { env });
      expect(code).toBe(1);
      expect(stderr).toContain('provider op: FAIL: The identity provider "op" cannot take this login: the provider entry says par: required and the provider does not advertise a pushed_authorization_request_endpoint');
      expect(stdout).toContain(`provider other: OK: discovery ${op.issuer}/.well-known/openid-configuration (issuer matches), JWKS ${op.issuer}/`);
      expect(stdout).toContain(`, pushed authorization requests ${op.issuer}/request`);
    } finally {
      await withoutPar.close();
    }
  });

  it('says so when the issuer is a web server but not an OpenID Provider', async () => {
    const issuer = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    const file = writeConfig('page.yaml', { op: issuer }, redis.url);
    const { code, stderr } = await runCli(['check-config', '--config', file, '--online'], { env });
    expect(code).toBe(1);
    expect(stderr).toContain(`provider op: FAIL: op: discovery at ${issuer}/.well-known/openid-configuration failed: HTTP 200 with a body that is not a JSON object: this is not an OpenID Provider's discovery document`);
  });
});
