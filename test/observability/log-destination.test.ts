import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { symbols } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';

/**
 * The default log destination: stdout, written asynchronously (a request's access line costs no
 * system call of its own), and still complete when the process exits right after logging.
 */

const LOGGER = fileURLToPath(new URL('../../src/observability/logger.ts', import.meta.url));

describe('the default log destination', () => {
  it('is stdout through an asynchronous writer that batches lines', () => {
    const logger = createLogger({ level: 'info' });
    const stream = (logger as unknown as Record<symbol, { fd?: number; sync?: boolean; minLength?: number }>)[symbols.streamSym]!;
    expect(stream.fd).toBe(1);
    expect(stream.sync).toBe(false);
    expect(stream.minLength).toBeGreaterThan(0);
  });

  it('a line logged at idle reaches stdout while the process runs, not only at exit', async () => {
    const script = [
      `const { createLogger } = await import(${JSON.stringify(LOGGER)});`,
      "createLogger({ level: 'info' }).info('one line at idle');",
      // Keep the process alive without exiting: only the batch timer can write the line.
      'setTimeout(() => undefined, 5_000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '--disable-warning=ExperimentalWarning', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const started = performance.now();
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      expect(JSON.parse(chunk.toString())).toMatchObject({ msg: 'one line at idle' });
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      child.kill();
    }
  });

  it('loses no line when the process exits right after logging', async () => {
    const count = 5_000;
    const script = [
      `const { createLogger } = await import(${JSON.stringify(LOGGER)});`,
      "const logger = createLogger({ level: 'info' });",
      `for (let i = 0; i < ${count}; i += 1) logger.info({ requestId: 'r' + i, route: '/api', status: 200 }, 'request');`,
      'process.exit(0);',
    ].join('\n');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '--disable-warning=ExperimentalWarning', '-e', script], { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, out) =>
        err ? reject(err) : resolve(out),
      );
    });
    const lines = stdout.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(count);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ requestId: `r${count - 1}`, msg: 'request' });
  });
});
