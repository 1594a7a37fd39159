import { readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { formatAllocations, summarizeAllocations } from './allocations.ts';
import type { BenchOptions } from './args.ts';
import type { ChildHandle } from './child.ts';
import { API_PATH } from './gateway-config.ts';
import { runLoad } from './load.ts';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.ts';
import { apiHeaders, loginForLoad } from './session.ts';

/**
 * The profiling pass: a gateway started under `node --cpu-prof`, sampling its allocations too,
 * gets row (c)'s load (a real session, same connections and duration), then stops, which
 * writes both profiles. Their summaries go next to the results as profile.txt.
 */
export const ALLOCATION_PROFILE = 'gateway.heapprofile';

export async function profileGateway(gateway: ChildHandle, options: BenchOptions, log: (line: string) => void): Promise<ProfileSummary> {
  const startedAt = Date.now();
  const session = await loginForLoad(gateway.url);
  const load = await runLoad({
    url: `${gateway.url}${API_PATH}`,
    connections: options.connections,
    durationS: options.warmupS + options.durationS,
    headers: apiHeaders(session.cookie),
  });
  await gateway.stop();
  const file = await newestProfile(options.profileDir!, startedAt);
  const summary = await summarizeProfile(file, 30);
  const allocations = await summarizeAllocations(join(options.profileDir!, ALLOCATION_PROFILE));
  const text = [
    `Profiles of the gateway under row (c) load: ${Math.round(load.rps)} rps while profiled, ${options.connections} connections, ${options.warmupS + options.durationS} s`,
    `(${basename(file)} and ${ALLOCATION_PROFILE} in the --profile directory; open them in Chrome DevTools)`,
    '',
    '== CPU (node --cpu-prof) ==',
    formatProfile(summary),
    '',
    '== Allocations (V8 sampling heap profiler) ==',
    formatAllocations(allocations),
    '',
  ].join('\n');
  await writeFile(join(options.outDir, 'profile.txt'), text);
  log(text);
  return summary;
}

async function newestProfile(dir: string, since: number): Promise<string> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  const withTimes = await Promise.all(names.map(async (name) => ({ name, mtime: (await stat(join(dir, name))).mtimeMs })));
  const newest = withTimes.filter((entry) => entry.mtime >= since).sort((a, b) => b.mtime - a.mtime)[0];
  if (newest === undefined) throw new Error(`no .cpuprofile written to ${dir}`);
  return join(dir, newest.name);
}
