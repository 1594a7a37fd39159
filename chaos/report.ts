import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScenarioResult } from './scenarios.ts';

/** The chaos table: printed, and written as latest.json and latest.md. */

export interface ChaosResults {
  startedAt: string;
  quick: boolean;
  durationS: number;
  node: string;
  results: ScenarioResult[];
  /** Scenarios that could not run, with the reason. */
  failed: Array<{ scenario: string; error: string }>;
}

const HEADER = ['scenario', 'requests', 'errors by status', 'longest ms', 'recover ms', 'sessions lost', 'refresh tokens spent twice', 'RSS slope MB/min', 'notes'];

function cells(result: ScenarioResult): string[] {
  const errors = Object.entries(result.errors).map(([status, count]) => `${status}: ${count}`).join(', ') || 'none';
  const show = (value: number | null) => (value === null ? '-' : String(value));
  return [result.scenario, String(result.requests), errors, String(result.longestMs), show(result.recoverMs), show(result.sessionsLost), show(result.refreshReused), show(result.rssSlopeMbPerMin), result.notes];
}

export function markdownTable(results: ChaosResults): string {
  const rows = [HEADER, HEADER.map(() => '---'), ...results.results.map(cells)];
  const table = rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
  const failed = results.failed.map((entry) => `\nNot run: ${entry.scenario}: ${entry.error}`).join('');
  return `${table}\n${failed}`;
}

export async function writeChaosResults(dir: string, results: ChaosResults): Promise<{ json: string; md: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const md = join(dir, 'latest.md');
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(
    md,
    `# Chaos run, ${results.startedAt}${results.quick ? ' (--quick)' : ''}\n\n${results.durationS} s in all, Node ${results.node}, loopback, real Redis, the demo OpenID Provider and the sample API.\n\n${markdownTable(results)}\n`,
  );
  return { json, md };
}
