import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChaosResults } from '../../chaos/report.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { runCli, type CliResult } from '../cli/run-cli.ts';

/**
 * `npm run chaos -- --quick` on one cheap scenario, end to end, as CI runs it: it must finish on
 * its own and write its table as JSON and markdown. Its numbers are not judged here, except
 * that the scenario ran, accounted for its requests, was not refused (4xx) and lost no session.
 */
const RUN = fileURLToPath(new URL('../../chaos/run.ts', import.meta.url));
const skip = skipRedisSuite('npm run chaos smoke', 'redis-server');

function runChaos(args: string[]): Promise<CliResult> {
  return runCli(args, { entry: RUN, timeoutMs: 55_000 });
}

describe.skipIf(skip)('npm run chaos -- --quick --only worker-kill', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('finishes within a minute and writes latest.json and latest.md with the scenario row', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tokengate-chaos-'));
    dirs.push(out);
    const run = await runChaos(['--quick', '--only', 'worker-kill', '--out', out]);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const results = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as ChaosResults;
    expect(results.quick).toBe(true);
    expect(results.failed).toEqual([]);
    expect(results.results.map((row) => row.scenario)).toEqual(['worker-kill']);
    const row = results.results[0]!;
    expect(row.requests).toBeGreaterThan(0);
    expect(row.sessionsLost).not.toBeNull();
    // A worker's death may reset its requests or answer 503, never refuse the load's requests
    // (a 4xx means the load itself is wrong, e.g. without the CSRF header) or end a session.
    expect(Object.keys(row.errors).filter((status) => /^4\d\d$/.test(status))).toEqual([]);
    expect(row.sessionsLost).toBe(0);
    const md = await readFile(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('| worker-kill |');
    expect(run.stdout).toContain('| scenario | requests | errors by status |');
  }, 60_000);

  it('rejects an unknown scenario name with exit 2', async () => {
    const run = await runChaos(['--only', 'no-such-thing']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown scenario(s): no-such-thing');
  });
});
