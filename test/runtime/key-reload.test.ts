import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { generateKey, Keyring } from '../../src/crypto/keyring.ts';
import { KeyReload } from '../../src/runtime/key-reload.ts';
import { CookieKeys } from '../../src/session/cookie-keys.ts';
import { captureLogs } from '../tokens/fixture.ts';
import { waitFor } from '../support/wait.ts';

/** KeyReload on its own: what a reload reads, what it swaps, what it logs. */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function yaml(keys: string): string {
  return `publicOrigin: http://127.0.0.1:1
store: { type: memory }
providers:
  - { id: op, type: oidc, issuer: https://issuer.example, clientId: tg, clientSecret: s3cret-s3cret }
keys:
${keys}`;
}

function setUp(keys: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-key-reload-'));
  dirs.push(dir);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml(keys));
  const config = loadConfig({ file, env: {} });
  const keyring = new Keyring(config.keys.encryption);
  const cookieKeys = new CookieKeys(config.keys.cookie);
  const logs = captureLogs('info');
  const target = { config, keyring, cookieKeys, logger: logs.logger, setForwardAuthSecret: () => false, replaceProvider: async () => false };
  return { file, keyring, cookieKeys, logs, reload: new KeyReload({ file, env: {}, debounceMs: 200 }, target) };
}

const k1 = generateKey();
const c1 = generateKey();

describe('a key reload', () => {
  it('a YAML syntax error keeps the keys and logs the problem without quoting the line that holds a key', async () => {
    const { file, keyring, logs, reload } = setUp(`  encryption: [{ kid: k1, key: ${k1} }]\n  cookie: [${c1}]\n`);
    const k2 = generateKey();
    writeFileSync(file, yaml(`  encryption: [{ kid: k2, key: ${k2} }, { kid: k1, key: ${k1} ]\n  cookie: [${c1}]\n`));
    expect(await reload.reload('test')).toBe('failed');
    expect(keyring.primaryKid).toBe('k1');
    const failed = logs.records().find((line) => line['event'] === 'key_reload_failed')!;
    expect(JSON.stringify(failed['problems'])).toContain('YAML');
    for (const secret of [k1, k2, c1]) expect(logs.lines.join('\n')).not.toContain(secret);
  });

  it('a new cookie key list is swapped in: a signature by the new first key verifies, and by a dropped key no longer', async () => {
    const { file, cookieKeys, reload } = setUp(`  encryption: [{ kid: k1, key: ${k1} }]\n  cookie: [${c1}]\n`);
    const underC1 = cookieKeys.sign('tg=sid');
    const c2 = generateKey();
    writeFileSync(file, yaml(`  encryption: [{ kid: k1, key: ${k1} }]\n  cookie: [${c2}]\n`));
    expect(await reload.reload('test')).toBe('reloaded');
    expect(cookieKeys.verify('tg=sid', underC1)).toBe(false);
    expect(cookieKeys.index('tg=sid', cookieKeys.sign('tg=sid'))).toBe(0);
    expect(await reload.reload('again')).toBe('unchanged');
  });

  it('several changes in a watched directory within the debounce make one reload', async () => {
    const { file, keyring, logs, reload } = setUp(`  encryption: [{ kid: k1, key: ${k1} }]\n  cookie: [${c1}]\n`);
    reload.watch();
    try {
      for (const kid of ['k2', 'k3', 'k4']) {
        writeFileSync(file, yaml(`  encryption: [{ kid: ${kid}, key: ${generateKey()} }, { kid: k1, key: ${k1} }]\n  cookie: [${c1}]\n`));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await waitFor('the reload', async () => keyring.primaryKid === 'k4', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(logs.records().filter((line) => line['event'] === 'keys_reloaded')).toHaveLength(1);
    } finally {
      reload.close();
    }
  });
});
