import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseBenchArgs, UsageRequested } from './args.ts';
import { runBench } from './bench.ts';
import { formatReport, writeResults } from './report.ts';

/**
 * `npm run bench` / `node bench/run.ts [--smoke] [--duration S] [--connections N] [--out DIR]`:
 * one bounded benchmark run on loopback; prints the table, writes latest.json and latest.svg.
 */
async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageRequested ? 0 : 2;
  }
  options = { ...options, outDir: resolve(options.outDir), profileDir: options.profileDir === undefined ? undefined : resolve(options.profileDir) };
  await mkdir(options.outDir, { recursive: true });
  if (options.profileDir !== undefined) await mkdir(options.profileDir, { recursive: true });
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const results = await runBench(options, log);
  process.stdout.write(`\n${formatReport(results)}\n`);
  const files = await writeResults(options.outDir, results);
  log(`wrote ${files.json} and ${files.svg}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
