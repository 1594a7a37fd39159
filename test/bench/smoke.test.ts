import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/results.ts';
import { runCli, type CliResult } from '../cli/run-cli.ts';

/**
 * The benchmark in smoke mode, end to end, as CI runs it: it must complete on its own (every
 * loop is bounded) and write its JSON and its chart with every row. Its numbers are not judged.
 */
const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));

function runBench(args: string[]): Promise<CliResult> {
  return runCli(args, { entry: RUN, timeoutMs: 110_000 });
}

describe('npm run bench -- --smoke', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('completes within two minutes and writes latest.json and latest.svg with every row', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tokengate-bench-'));
    dirs.push(out);
    const run = await runBench(['--smoke', '--out', out]);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);

    const results = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchResults;
    expect(results.settings.smoke).toBe(true);
    // Apache + mod_auth_openidc runs where installed; elsewhere the row is skipped and says why.
    const apache = results.skipped?.find((row) => row.id === 'm');
    expect(results.rows.map((row) => row.id)).toEqual(apache ? ['a', 'b', 'u', 'c', 'd', 'p'] : ['a', 'b', 'u', 'c', 'd', 'p', 'm']);
    if (apache) expect(run.stdout).toContain(`(m) Apache + mod_auth_openidc: SKIPPED, ${apache.reason}`);
    for (const row of results.rows) expect(row.cpuUsPerRequest).toBeGreaterThan(0);
    expect(results.invalidation?.trials).toBeGreaterThan(0);
    for (const row of results.rows) {
      expect(row.requests).toBeGreaterThan(0);
      expect(row.rps).toBeGreaterThan(0);
    }
    expect(results.rows.find((row) => row.id === 'b')!.ratioToB).toBe(1);
    expect(results.redis.requests).toBeGreaterThan(0);
    expect(results.redis.probeRequests).toBeGreaterThan(0);
    expect(results.gatewayPeakRssMb).toBeGreaterThan(0);
    expect(results.storm.instances).toBe(2);
    expect(Object.values(results.storm.statuses).reduce((sum, count) => sum + count, 0)).toBe(results.storm.requests);
    expect(results.targets.length).toBeGreaterThanOrEqual(11);

    const svg = await readFile(join(out, 'latest.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const id of ['a', 'b', 'u', 'c', 'd']) expect(svg).toContain(`(${id}) `);
    expect(svg).toContain('refresh storm');

    // The printed table names every row too.
    for (const id of ['a', 'b', 'u', 'c', 'd']) expect(run.stdout).toContain(`(${id}) `);
  }, 120_000);
});
