import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './args.ts';
import type { ChildHandle } from './child.ts';
import { API_PATH } from './gateway-config.ts';
import { runLoad } from './load.ts';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.ts';
import { loginForLoad } from './session.ts';

/**
 * The profiling pass: a gateway started under `node --cpu-prof` gets row (c)'s load (a real
 * session, same connections and duration), then stops, which writes its profile. The summary
 * (self time by area and by function) goes next to the results as profile.txt.
 */
export async function profileGateway(gateway: ChildHandle, options: BenchOptions, log: (line: string) => void): Promise<ProfileSummary> {
  const startedAt = Date.now();
  const session = await loginForLoad(gateway.url);
  const load = await runLoad({
    url: `${gateway.url}${API_PATH}`,
    connections: options.connections,
    durationS: options.warmupS + options.durationS,
    headers: { cookie: session.cookie },
  });
  await gateway.stop();
  const file = await newestProfile(options.profileDir!, startedAt);
  const summary = await summarizeProfile(file, 30);
  const text = `CPU profile of the gateway under row (c) load: ${Math.round(load.rps)} rps while profiled, ${options.connections} connections\n${file}\n\n${formatProfile(summary)}\n`;
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
