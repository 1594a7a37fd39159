import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The gateway as production runs it: compiled to JavaScript by `tsc` (src/ plus the bench's
 * gateway child entry, bench/tsconfig.gateway.json) into a temporary directory, so its process
 * loads no TypeScript stripper (about 35 MB of RSS at idle) and runs the emitted code. The
 * directory gets a `package.json` saying ESM and a `node_modules` link to the repository's, and
 * is removed with `remove()`.
 */
export interface GatewayBuild {
  /** The compiled bench/children/gateway.js. */
  entry: string;
  remove(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('./tsconfig.gateway.json', import.meta.url));
const BUILD_TIMEOUT_MS = 180_000;

export async function buildGateway(): Promise<GatewayBuild> {
  const dir = await mkdtemp(join(tmpdir(), 'tokengate-bench-build-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const out = join(dir, 'out');
    // Emit only: type checking is `npm run typecheck`'s job, and every file is emitted on its
    // own (isolatedModules, erasable syntax only), so the JavaScript is the same either way.
    await runTsc(['-p', TSCONFIG, '--outDir', out, '--noCheck']);
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    return { entry: join(out, 'bench', 'children', 'gateway.js'), remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

function runTsc(args: string[]): Promise<void> {
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`building the gateway (tsc) failed with ${signal ?? `code ${code}`}:\n${output.slice(-2000)}`));
    });
  });
}
