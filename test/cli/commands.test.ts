import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeKeyMaterial, generateKey } from '../../src/crypto/keyring.ts';
import { runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tokengate-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('tokengate --help and --version', () => {
  it('--help lists every command and the exit codes, exit 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const name of ['start', 'dev', 'check-config', 'keygen', 'keys']) expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(stdout).toMatch(/Exit codes:\n  0 +success\n  1 +invalid configuration\n  2 +wrong usage\n  3 +runtime failure/);
  });

  it('no command prints the help and exits 2; an unknown one exits 2', async () => {
    expect((await runCli([])).code).toBe(2);
    const unknown = await runCli(['serve']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "serve"');
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  });

  it.each([['start'], ['dev'], ['check-config'], ['keygen'], ['keys']])('%s --help prints its usage, exit 0', async (name) => {
    const { code, stdout } = await runCli([name, '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Usage: tokengate ${name}\\b`));
  });

  it('an unknown option is wrong usage (exit 2) and shows the usage', async () => {
    const { code, stderr } = await runCli(['keygen', '--bogus']);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: tokengate keygen');
  });
});

describe('tokengate keygen', () => {
  it('prints a fresh 256-bit key that the config accepts', async () => {
    const first = await runCli(['keygen']);
    const second = await runCli(['keygen']);
    expect(first.code).toBe(0);
    const key = first.stdout.trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeKeyMaterial(key)).toBeInstanceOf(Buffer);
    expect(second.stdout.trim()).not.toBe(key);
  });

  it('--kid prints an entry for TOKENGATE_ENCRYPTION_KEYS; a bad kid is wrong usage', async () => {
    expect((await runCli(['keygen', '--kid', 'k2026'])).stdout.trim()).toMatch(/^k2026:[A-Za-z0-9_-]{43}$/);
    expect((await runCli(['keygen', '--kid', 'no spaces'])).code).toBe(2);
  });
});

describe('tokengate check-config', () => {
  const valid = join(dir, 'valid.yaml');
  const invalid = join(dir, 'invalid.yaml');
  writeFileSync(
    valid,
    `publicOrigin: https://app.example.com
providers:
  - { id: corp, type: oidc, issuer: https://login.example.com, clientId: tg, clientSecret: { env: CORP_SECRET } }
routes:
  - { prefix: /api, upstream: http://127.0.0.1:3000 }
`,
  );
  writeFileSync(
    invalid,
    `publicOrigin: ftp://app.example.com
providers:
  - { id: corp, type: oidc, issuer: not-a-url, clientId: tg, clientSecret: { env: CORP_SECRET } }
routes:
  - { prefix: /api, upstream: nowhere }
logging: { level: loud }
`,
  );
  const env = { TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`, TOKENGATE_COOKIE_KEYS: generateKey(), CORP_SECRET: 'corp-secret-value' };

  it('exits 0 for a valid file and never prints a secret', async () => {
    const { code, stdout, stderr } = await runCli(['check-config', '--config', valid], { env });
    expect(code).toBe(0);
    expect(stdout).toContain('OK');
    expect(`${stdout}${stderr}`).not.toContain('corp-secret-value');
    expect(`${stdout}${stderr}`).not.toContain(env.TOKENGATE_COOKIE_KEYS);
  });

  it('exits 1 and prints every problem with its path', async () => {
    const { code, stderr } = await runCli(['check-config', '--config', invalid], { env: { CORP_SECRET: 'x' } });
    expect(code).toBe(1);
    for (const path of ['publicOrigin', 'providers.0.issuer', 'routes.0.upstream', 'logging.level', 'keys']) expect(stderr).toContain(`- ${path}: `);
  });

  it('exits 1 for a file that does not exist, 2 without --config', async () => {
    expect((await runCli(['check-config', '--config', join(dir, 'missing.yaml')])).code).toBe(1);
    expect((await runCli(['check-config'])).code).toBe(2);
  });
});
