import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { markdownTable, writeChaosResults, type ChaosResults } from './report.ts';
import { SCENARIOS } from './scenarios.ts';

/**
 * `npm run chaos [-- --quick] [--only a,b] [--out DIR]`: the fault scenarios one after another
 * (chaos/README.md), each bounded in time, on loopback against real processes; prints one table
 * and writes it to DIR (default chaos/results) as latest.json and latest.md.
 */

const SCENARIO_TIMEOUT_MS = 120_000;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string', default: 'chaos/results' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`Usage: npm run chaos -- [--quick] [--only ${SCENARIOS.map((s) => s.name).join(',')}] [--out DIR]\n`);
    return 0;
  }
  const only = values.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`chaos: unknown scenario(s): ${unknown.join(', ')}\n`);
    return 2;
  }
  const log = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
  const started = performance.now();
  const results: ChaosResults = { startedAt: new Date().toISOString(), quick: values.quick, durationS: 0, node: process.version, results: [], failed: [] };
  for (const scenario of SCENARIOS.filter((candidate) => only === undefined || only.includes(candidate.name))) {
    log(`${scenario.name}: ${scenario.describe}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        scenario.run({ quick: values.quick, log }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not finish within ${SCENARIO_TIMEOUT_MS / 1000} s`)), SCENARIO_TIMEOUT_MS);
        }),
      ]);
      results.results.push(result);
      log(`${scenario.name}: ${result.requests} requests, errors ${JSON.stringify(result.errors)}`);
    } catch (err) {
      results.failed.push({ scenario: scenario.name, error: err instanceof Error ? err.message.split('\n')[0]! : String(err) });
      log(`${scenario.name}: failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  results.durationS = Math.round((performance.now() - started) / 1000);
  process.stdout.write(`\n${markdownTable(results)}\n`);
  const files = await writeChaosResults(resolve(values.out), results);
  log(`wrote ${files.json} and ${files.md}`);
  return results.failed.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[chaos] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
