import { execFile } from 'node:child_process';
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
  it('is stdout through an asynchronous writer', () => {
    const logger = createLogger({ level: 'info' });
    const stream = (logger as unknown as Record<symbol, { fd?: number; sync?: boolean }>)[symbols.streamSym]!;
    expect(stream.fd).toBe(1);
    expect(stream.sync).toBe(false);
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
