import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatReport, writeResults } from './report.ts';
import type { BenchResults } from './results.ts';
import { checkTargets } from './targets.ts';

/**
 * `node bench/retarget.ts [DIR]`: checks a finished run's results (DIR/latest.json, default
 * bench/results) against the current targets and rewrites latest.json and latest.svg, without
 * measuring again. For when the targets or their checks change after a run.
 */
const dir = resolve(process.argv[2] ?? 'bench/results');
const { targets: _old, ...measured } = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as BenchResults;
const results: BenchResults = { ...measured, targets: checkTargets(measured) };
await writeResults(dir, results);
process.stdout.write(`${formatReport(results)}\n`);
