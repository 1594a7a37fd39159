import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `import { createGateway, loadConfig } from 'tokengate'` from another project: the package is
 * built (tsc, with declarations) and packed (`npm pack`) in a temp directory, installed by npm
 * into a separate consumer project with production dependencies only, type-checked there by tsc
 * (a tiny consumer that must compile, and one line that must not), and run in its own process.
 */

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const work = mkdtempSync(join(tmpdir(), 'tokengate-library-'));
const build = join(work, 'build');
const consumer = join(work, 'consumer');

const CONSUMER = `import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, createGateway, generateKey, loadConfig, NoSessionError, type Config, type Gateway } from 'tokengate';

const config: Config = loadConfig({
  env: {},
  object: {
    publicOrigin: 'http://127.0.0.1:8080',
    keys: { encryption: [{ kid: 'k1', key: generateKey() }], cookie: [generateKey()] },
    providers: [{ id: 'gh', type: 'github', clientId: 'id', clientSecret: 'secret' }],
    logging: { level: 'silent' },
  },
});
const idleMs: number = config.session.idleTimeout;
const gateway: Gateway = createGateway(config);
const server = createServer(gateway.callback());
server.on('upgrade', gateway.upgrade);
gateway.attach(server);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const answer = await fetch(\`http://127.0.0.1:\${port}/auth/session\`);
let configError = '';
try {
  loadConfig({ env: {}, object: { publicOrigin: 'ftp://x' } });
} catch (err) {
  if (err instanceof ConfigError) configError = err.code;
}
console.log(JSON.stringify({ status: answer.status, body: await answer.json(), idleMs, configError, noSession: new NoSessionError().code }));
await gateway.close();
`;

beforeAll(async () => {
  mkdirSync(build);
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md']) cpSync(join(ROOT, file), join(build, file));
  for (const dir of ['src', 'config']) cpSync(join(ROOT, dir), join(build, dir), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'), 'dir');
  await run(process.execPath, [TSC, '-p', join(build, 'tsconfig.json')], { cwd: build });
  await run('npm', ['pack', '--pack-destination', work, '--loglevel=error'], { cwd: build });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;

  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', join(work, tarball), '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: consumer,
    env: { ...process.env, NODE_ENV: 'production' },
    timeout: 80_000,
  });
  writeFileSync(join(consumer, 'main.ts'), CONSUMER);
  writeFileSync(join(consumer, 'wrong.ts'), `import { loadConfig } from 'tokengate';\nconst port: string = loadConfig({}).listen.port;\nconsole.log(port);\n`);
  // @types/node is the consumer's own choice; the repository's copy stands in for it.
  const compilerOptions = { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] };
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }));
  writeFileSync(join(consumer, 'tsconfig.wrong.json'), JSON.stringify({ compilerOptions, files: ['wrong.ts'] }));
}, 150_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the tokengate package, installed in another project', () => {
  it('type-checks a consumer that imports it by name, types included', async () => {
    await expect(run(process.execPath, [TSC, '-p', join(consumer, 'tsconfig.json')], { cwd: consumer })).resolves.toBeDefined();
  });

  it('its types are real: a wrong use does not compile', async () => {
    const failed = await run(process.execPath, [TSC, '-p', join(consumer, 'tsconfig.wrong.json')], { cwd: consumer }).then(
      () => undefined,
      (err: { stdout: string }) => err.stdout,
    );
    expect(failed).toMatch(/wrong\.ts\(2,7\): error TS2322: Type 'number' is not assignable to type 'string'/);
  });

  it('runs: the gateway mounted in a plain node:http server answers, and its errors are the package\'s classes', async () => {
    const { stdout } = await run(process.execPath, ['main.ts'], { cwd: consumer, timeout: 30_000 });
    expect(JSON.parse(stdout.trim())).toEqual({
      status: 401,
      body: { error: 'Not logged in', code: 'NO_SESSION' },
      idleMs: 30 * 60_000,
      configError: 'CONFIG_INVALID',
      noSession: 'NO_SESSION',
    });
  });

  it('`npx tokengate` runs the package\'s bin', async () => {
    const { stdout } = await run('npx', ['--no-install', 'tokengate', '--version'], { cwd: consumer, timeout: 30_000 });
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(stdout.trim()).toContain(version);
  });

  it('ships the CLI and the config JSON Schema, and no sources or tests', () => {
    const files = readdirSync(join(consumer, 'node_modules', 'tokengate'), { recursive: true, encoding: 'utf8' });
    expect(files).toContain(join('dist', 'cli.js'));
    expect(files).toContain(join('dist', 'index.d.ts'));
    expect(files).toContain(join('config', 'tokengate.schema.json'));
    expect(files.filter((file) => file.startsWith('src') || file.startsWith('test'))).toEqual([]);
  });
});
