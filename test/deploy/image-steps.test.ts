import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { logLine, runCli, startCliReady } from '../cli/run-cli.ts';
import { freePort, onFreePort } from '../support/ports.ts';

/**
 * The Dockerfile's steps without Docker (no engine runs here), in temp directories:
 *
 *   build stage    package.json, package-lock.json, tsconfig.json and src/ copied; the full
 *                  dependencies (the repository's own `npm ci` result, linked); tsc → dist/
 *   runtime stage  package.json and package-lock.json copied; `npm ci --omit=dev` (from the npm
 *                  cache, the registry only for what it lacks); dist/ and config/ copied
 *
 * then `node dist/cli.js check-config` and `node dist/cli.js start` from the runtime directory,
 * and the Dockerfile's own HEALTHCHECK command against the ops listener.
 */

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'tokengate-image-'));
const build = join(work, 'build');
const runtime = join(work, 'runtime');
const clientSecret = generateKey();
const env = { TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`, TOKENGATE_COOKIE_KEYS: generateKey(), TOKENGATE_PROVIDER_OP_CLIENT_SECRET: clientSecret };
let op: OpenIdProviderHandle;

/** The Dockerfile's HEALTHCHECK, as an argv (exec form). */
function healthcheckCommand(): string[] {
  const match = /HEALTHCHECK[^\n]*(?:\\\n[^\n]*)*?CMD (\[.*\])/.exec(dockerfile);
  if (!match) throw new Error('no exec-form HEALTHCHECK in the Dockerfile');
  return JSON.parse(match[1]!) as string[];
}

beforeAll(async () => {
  op = await startOpenIdProvider({ clients: [{ clientId: 'tg', clientSecret, redirectUris: ['http://127.0.0.1:1/auth/callback/op'] }] });

  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(ROOT, file), join(build, file));
  cpSync(join(ROOT, 'src'), join(build, 'src'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'), 'dir');
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(build, 'tsconfig.json')], { cwd: build });

  for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(runtime, file));
  // npm from PATH, as scripts/env.sh and .ci/run use it.
  await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: runtime,
    env: { ...process.env, NODE_ENV: 'production' },
    timeout: 50_000,
  });
  cpSync(join(build, 'dist'), join(runtime, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'config'), join(runtime, 'config'), { recursive: true });
}, 90_000);

afterAll(async () => {
  await op?.close();
  rmSync(work, { recursive: true, force: true });
});

function writeConfig(ports: { main: number; ops: number }): string {
  const file = join(work, 'gateway.yaml');
  writeFileSync(
    file,
    `publicOrigin: http://127.0.0.1:${ports.main}
listen: { host: 127.0.0.1, port: ${ports.main} }
ops: { host: 127.0.0.1, port: ${ports.ops} }
store: { type: memory }
providers:
  - { id: op, type: oidc, issuer: ${op.issuer}, clientId: tg }
`,
  );
  return file;
}

describe('the image, built the Dockerfile\'s way without Docker', () => {
  it('has production dependencies only', () => {
    expect(existsSync(join(runtime, 'node_modules', 'koa'))).toBe(true);
    for (const dev of ['vitest', 'typescript', 'oidc-provider', 'playwright-core', 'msw']) expect(existsSync(join(runtime, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(runtime, 'dist', 'cli.js'))).toBe(true);
  });

  it('runs check-config from dist', async () => {
    const ports = { main: await freePort(), ops: await freePort() };
    const ok = await runCli(['check-config', '--config', writeConfig(ports)], { entry: join(runtime, 'dist', 'cli.js'), cwd: runtime, env });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const bad = await runCli(['check-config', '--config', writeConfig(ports)], { entry: join(runtime, 'dist', 'cli.js'), cwd: runtime, env: {} });
    expect(bad.code).toBe(1);
  });

  it('runs start from dist: /healthz answers, the Dockerfile\'s HEALTHCHECK passes, SIGTERM exits 0', async () => {
    // The main port is in publicOrigin, so the config names it; the ops listener binds port 0.
    const ports = { main: 0, ops: 0 };
    const cli = await onFreePort((main) => {
      ports.main = main;
      return startCliReady(['start', '--config', writeConfig({ main, ops: 0 })], { entry: join(runtime, 'dist', 'cli.js'), cwd: runtime, env: { ...env, NODE_ENV: 'production' } }, /"event":"listening"/);
    });
    try {
      ports.ops = Number(new URL(String(logLine(cli, 'listening')?.['ops'])).port);
      const health = await fetch(`http://127.0.0.1:${ports.ops}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect((await fetch(`http://127.0.0.1:${ports.main}/auth/session`)).status).toBe(401);

      // The port comes from TOKENGATE_HEALTHCHECK_PORT (the image's ENV says 9464, the default
      // ops.port); a container whose ops.port differs is run with that variable set.
      expect(dockerfile).toMatch(/^ENV TOKENGATE_HEALTHCHECK_PORT=9464$/m);
      const [command, ...args] = healthcheckCommand();
      expect(command).toBe('node');
      await expect(run(process.execPath, args, { cwd: runtime, timeout: 10_000, env: { ...process.env, TOKENGATE_HEALTHCHECK_PORT: String(ports.ops) } })).resolves.toBeDefined();
    } finally {
      const result = await cli.stop('SIGTERM');
      expect(result.code).toBe(0);
    }
    // With nothing listening the same HEALTHCHECK fails.
    const [, ...args] = healthcheckCommand();
    await expect(run(process.execPath, args, { cwd: runtime, timeout: 10_000, env: { ...process.env, TOKENGATE_HEALTHCHECK_PORT: String(ports.ops) } })).rejects.toMatchObject({ code: 1 });
  });
});
