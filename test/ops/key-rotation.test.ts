import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, Keyring } from '../../src/crypto/keyring.ts';
import type { StoredTokenSet } from '../../src/store/types.ts';
import { runCli } from '../cli/run-cli.ts';
import type { LoginResult } from '../support/login.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { startCliStack, type CliStack } from './support/cli-stack.ts';
import { scrape, valueOf } from './support/prometheus.ts';

/**
 * Keys rotate without a restart: `tokengate start` as a child process reads its encryption and
 * cookie keys from files, and takes new ones on SIGHUP or when a Kubernetes-style secret
 * directory is swapped; token sets move to the new sealing key when read; `keys status`
 * counts what each key still seals, from Redis.
 */

const skip = skipRedisSuite('key rotation on Redis', 'redis-server');

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'tokengate-keys-'));
}

function reloads(stack: CliStack, event: string): Array<Record<string, unknown>> {
  return stack.logLines().filter((line) => line['event'] === event);
}

async function waitForLines(stack: CliStack, event: string, count: number): Promise<Array<Record<string, unknown>>> {
  await waitFor(`${count} "${event}" line(s)`, async () => reloads(stack, event).length >= count, 10_000);
  return reloads(stack, event);
}

describe.skipIf(skip)('keys reloaded on SIGHUP (tokengate start, Redis store)', () => {
  const dir = scratchDir();
  const keysFile = join(dir, 'encryption-keys');
  const cookieFile = join(dir, 'cookie-keys');
  const k1 = generateKey();
  const k2 = generateKey();
  const c1 = generateKey();
  const c2 = generateKey();
  let stack: CliStack;
  let redis: Redis;
  let browser: LoginResult;

  async function storedTokenSet(): Promise<{ key: string; set: StoredTokenSet }> {
    const keys = await redis.keys('tg:tok:*');
    expect(keys).toHaveLength(1);
    return { key: keys[0]!, set: JSON.parse((await redis.get(keys[0]!))!) as StoredTokenSet };
  }

  function kidOf(sealed: string | undefined): string | undefined {
    return sealed?.split('.')[1];
  }

  async function keysStatus(): Promise<string> {
    const result = await runCli(['keys', 'status', '--config', stack.configFile], { env: stack.env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  }

  async function hangUp(event: string): Promise<Record<string, unknown>> {
    const before = reloads(stack, event).length;
    stack.cli().child.kill('SIGHUP');
    const lines = await waitForLines(stack, event, before + 1);
    return lines.at(-1)!;
  }

  beforeAll(async () => {
    writeFileSync(keysFile, `k1:${k1}\n`);
    writeFileSync(cookieFile, `${c1}\n`);
    stack = await startCliStack({
      store: 'redis',
      // One process: SIGHUP reaches the gateway itself (the --workers case is below).
      args: ['--workers', '1'],
      env: { TOKENGATE_ENCRYPTION_KEYS: '', TOKENGATE_ENCRYPTION_KEYS_FILE: keysFile, TOKENGATE_COOKIE_KEYS: '', TOKENGATE_COOKIE_KEYS_FILE: cookieFile },
    });
    await stack.start();
    redis = new Redis(stack.redis!.url);
    browser = await stack.login();
    expect((await browser.request(`${stack.publicOrigin}/api/before`)).status).toBe(200);
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keys status counts the token sets each key id seals, read from Redis', async () => {
    expect(kidOf((await storedTokenSet()).set.accessToken)).toBe('k1');
    const out = await keysStatus();
    expect(out).toMatch(/^k1\s+1\s+seals \(first key\)$/m);
    expect(out).toMatch(/^1 token set\(s\) on 1 master\(s\)/m);
  });

  it('the gauge tokengate_sealed_token_sets{kid} says the same (a scrape starts the bounded scan in the background)', async () => {
    await waitFor('the gauge', async () => valueOf(await scrape(stack.opsUrl), 'tokengate_sealed_token_sets', { kid: 'k1' }) === 1, 10_000);
    expect(valueOf(await scrape(stack.opsUrl), 'tokengate_sealed_token_sets_scan_complete')).toBe(1);
  });

  it('SIGHUP after a new first key: the process keeps running, and a token set read afterwards is sealed again under it (same tokens, ver + 1)', async () => {
    const before = await storedTokenSet();
    writeFileSync(keysFile, `k2:${k2},k1:${k1}\n`);
    const reloaded = await hangUp('keys_reloaded');
    expect(reloaded).toMatchObject({ reason: 'SIGHUP', sealingKid: 'k2', encryptionKids: ['k2', 'k1'] });
    // Nothing read yet: still under k1, and keys status says so.
    expect(kidOf((await storedTokenSet()).set.accessToken)).toBe('k1');
    expect(await keysStatus()).toMatch(/^k1\s+1\s+opens only$/m);

    const res = await browser.request(`${stack.publicOrigin}/api/after`);
    expect(res.status).toBe(200);
    expect(res.json<{ sub: string }>().sub).toBe('demo-user');
    await waitFor('the token set sealed under k2', async () => kidOf((await storedTokenSet()).set.accessToken) === 'k2', 10_000);
    const after = await storedTokenSet();
    expect(after.set.ver).toBe(before.set.ver + 1);
    expect(kidOf(after.set.refreshToken)).toBe('k2');
    expect(kidOf(after.set.idToken)).toBe('k2');
    // The very same tokens, only sealed anew: nothing older was written back.
    const keyring = new Keyring([{ kid: 'k2', key: k2 }, { kid: 'k1', key: k1 }]);
    const sid = after.key.slice('tg:tok:{'.length, -1);
    for (const [field, name] of [['accessToken', 'access'], ['refreshToken', 'refresh'], ['idToken', 'id']] as const) {
      expect(keyring.open(after.set[field]!, sid, name)).toBe(keyring.open(before.set[field]!, sid, name));
    }
    expect(after.set.expiresAt).toBe(before.set.expiresAt);

    const status = await keysStatus();
    expect(status).toMatch(/^k2\s+1\s+seals \(first key\)$/m);
    expect(status).toMatch(/^k1\s+0\s+opens only$/m);
    expect((await browser.request(`${stack.publicOrigin}/api/again`)).status).toBe(200);
  });

  it('SIGHUP after a new first cookie key: a cookie signed with the older key is signed again, so the older key can then go', async () => {
    writeFileSync(cookieFile, `${c2},${c1}\n`);
    expect(await hangUp('keys_reloaded')).toMatchObject({ cookieKeys: 2 });
    const resigned = await browser.request(`${stack.publicOrigin}/api/cookie`);
    expect(resigned.status).toBe(200);
    expect(resigned.setCookies.some((cookie) => cookie.startsWith('tg_session.sig='))).toBe(true);

    writeFileSync(cookieFile, `${c2}\n`);
    expect(await hangUp('keys_reloaded')).toMatchObject({ cookieKeys: 1 });
    expect((await browser.request(`${stack.publicOrigin}/api/cookie-after`)).status).toBe(200);
  });

  it('a reload with a bad key keeps the current keys, logs why without the key, and sessions keep working', async () => {
    const short = Buffer.from('too short').toString('base64url');
    writeFileSync(keysFile, `k3:${short},k2:${k2}\n`);
    const failed = await hangUp('key_reload_failed');
    expect(failed).toMatchObject({ reason: 'SIGHUP', level: 'error' });
    expect(JSON.stringify(failed['problems'])).toContain('keys.encryption.0.key');
    const output = `${stack.cli().output().stdout}${stack.cli().output().stderr}`;
    for (const secret of [short, k1, k2, c1, c2]) expect(output).not.toContain(secret);
    expect(stack.cli().child.exitCode).toBeNull();

    const res = await browser.request(`${stack.publicOrigin}/api/still`);
    expect(res.status).toBe(200);
    expect(res.json<{ sub: string }>().sub).toBe('demo-user');
    // Still sealing with k2: a new login's token set is under k2.
    const second = await stack.login();
    expect((await second.request(`${stack.publicOrigin}/api/second`)).status).toBe(200);
    const kids = await Promise.all((await redis.keys('tg:tok:*')).map(async (key) => kidOf((JSON.parse((await redis.get(key))!) as StoredTokenSet).accessToken)));
    expect(kids).toEqual(['k2', 'k2']);
  });

  it('keys status with the memory store says it needs Redis (exit 1)', async () => {
    const file = join(dir, 'memory.yaml');
    writeFileSync(file, `publicOrigin: http://127.0.0.1:1\nstore: { type: memory }\nproviders:\n  - { id: op, type: oidc, issuer: ${stack.op.issuer}, clientId: tg }\n`);
    const result = await runCli(['keys', 'status', '--config', file], { env: { TOKENGATE_ENCRYPTION_KEYS: `k1:${k1}`, TOKENGATE_COOKIE_KEYS: c1, TOKENGATE_PROVIDER_OP_CLIENT_SECRET: 'x' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('needs the redis store');
  });
});

describe('keys reloaded when a Kubernetes secret directory is swapped (..data symlink)', () => {
  const dir = scratchDir();
  const secretDir = join(dir, 'secret');
  const k1 = generateKey();
  const k2 = generateKey();
  let stack: CliStack;

  /** What the kubelet does: a new timestamped directory, a temporary symlink to it renamed over `..data`. */
  function kubeletUpdate(stamp: string, keys: string, previous?: string): void {
    mkdirSync(join(secretDir, stamp));
    writeFileSync(join(secretDir, stamp, 'encryption-keys'), keys);
    symlinkSync(stamp, join(secretDir, '..data_tmp'));
    renameSync(join(secretDir, '..data_tmp'), join(secretDir, '..data'));
    if (previous !== undefined) rmSync(join(secretDir, previous), { recursive: true });
  }

  beforeAll(async () => {
    mkdirSync(secretDir);
    kubeletUpdate('..2026_11_30_05_00_00.000000001', `k1:${k1}\n`);
    symlinkSync('..data/encryption-keys', join(secretDir, 'encryption-keys'));
    stack = await startCliStack({ env: { TOKENGATE_ENCRYPTION_KEYS: '', TOKENGATE_ENCRYPTION_KEYS_FILE: join(secretDir, 'encryption-keys') } });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the swap is noticed without a signal, reloaded once (debounced), and the session made before goes on', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.publicOrigin}/api/before`)).status).toBe(200);
    kubeletUpdate('..2026_11_30_05_10_00.000000002', `k2:${k2},k1:${k1}\n`, '..2026_11_30_05_00_00.000000001');
    const [reloaded] = await waitForLines(stack, 'keys_reloaded', 1);
    expect(reloaded).toMatchObject({ reason: 'file changed', sealingKid: 'k2', encryptionKids: ['k2', 'k1'] });
    expect((await browser.request(`${stack.publicOrigin}/api/after`)).status).toBe(200);
    // One update, several directory events: one reload.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(reloads(stack, 'keys_reloaded')).toHaveLength(1);
    expect(reloads(stack, 'key_reload_failed')).toHaveLength(0);
  });
});

describe.skipIf(skip)('start --workers 2: SIGHUP to the primary reloads every worker', () => {
  const dir = scratchDir();
  const keysFile = join(dir, 'encryption-keys');
  const k1 = generateKey();
  let stack: CliStack;

  beforeAll(async () => {
    writeFileSync(keysFile, `k1:${k1}\n`);
    stack = await startCliStack({ store: 'redis', args: ['--workers', '2'], env: { TOKENGATE_ENCRYPTION_KEYS: '', TOKENGATE_ENCRYPTION_KEYS_FILE: keysFile } });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each worker reloads, the primary stays up', async () => {
    // The keys file is left as it is: a change would also reach the workers' file watchers.
    const primary = stack.cli().child;
    primary.kill('SIGHUP');
    const lines = await waitForLines(stack, 'keys_unchanged', 2);
    expect(lines.filter((line) => line['reason'] === 'SIGHUP (primary)')).toHaveLength(2);
    expect(new Set(lines.map((line) => line['pid']))).toHaveProperty('size', 2);
    expect(lines.map((line) => line['pid'])).not.toContain(primary.pid);
    expect(primary.exitCode).toBeNull();
  });
});

describe('client secret and forward-auth secret re-read on SIGHUP', () => {
  const dir = scratchDir();
  const clientSecretFile = join(dir, 'client-secret');
  const forwardSecretFile = join(dir, 'forward-auth-secret');
  const forwardOld = generateKey();
  const forwardNew = generateKey();
  let stack: CliStack;
  let clientSecret: string;

  beforeAll(async () => {
    stack = await startCliStack({ extraConfig: 'forwardAuth: { enabled: true }' });
    // The provider knows the stack's client secret; the gateway reads it from a file instead.
    clientSecret = stack.env['TOKENGATE_PROVIDER_OP_CLIENT_SECRET']!;
    Object.assign(stack.env, {
      TOKENGATE_PROVIDER_OP_CLIENT_SECRET: '',
      TOKENGATE_PROVIDER_OP_CLIENT_SECRET_FILE: clientSecretFile,
      TOKENGATE_FORWARD_AUTH_SECRET_FILE: forwardSecretFile,
    });
    writeFileSync(clientSecretFile, `${generateKey()}\n`);
    writeFileSync(forwardSecretFile, `${forwardOld}\n`);
    await stack.start();
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function hangUp(): Promise<Record<string, unknown>> {
    const before = reloads(stack, 'keys_reloaded').length;
    stack.cli().child.kill('SIGHUP');
    return (await waitForLines(stack, 'keys_reloaded', before + 1)).at(-1)!;
  }

  const verify = (secret: string) => fetch(`${stack.publicOrigin}/auth/verify`, { headers: { 'x-tokengate-forward-auth': secret, 'x-csrf': '1' } });

  it('a login fails with the wrong client secret, and works after the right one is written and SIGHUP sent', async () => {
    const refused = await stack.login();
    expect((await refused.request(`${stack.publicOrigin}/auth/session`)).status).toBe(401);
    writeFileSync(clientSecretFile, `${clientSecret}\n`);
    expect(await hangUp()).toMatchObject({ changed: ['provider op credentials'] });
    const browser = await stack.login();
    expect((await browser.request(`${stack.publicOrigin}/auth/session`)).status).toBe(200);
    expect((await browser.request(`${stack.publicOrigin}/api/who`)).status).toBe(200);
    expect(stack.cli().output().stdout).not.toContain(clientSecret);
  });

  it('the forward-auth secret: the old one stops and the new one works after SIGHUP', async () => {
    expect((await verify(forwardOld)).status).toBe(401);
    expect((await verify(forwardNew)).status).toBe(404);
    writeFileSync(forwardSecretFile, `${forwardNew}\n`);
    expect(await hangUp()).toMatchObject({ changed: ['forward-auth secret'] });
    expect((await verify(forwardOld)).status).toBe(404);
    expect((await verify(forwardNew)).status).toBe(401);
  });
});
