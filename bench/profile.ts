import { readFile } from 'node:fs/promises';

/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and ranks where the time went: self
 * time per function, and per area (a file of ours, a package, Node internals, GC). Percentages
 * are of the busy time (the profile's "(idle)" samples are left out).
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: HotSpot[];
  areas: HotSpot[];
}

export async function summarizeProfile(file: string, top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => {
    // timeDeltas[i] is the time before sample i; attribute the next delta to this sample.
    const delta = profile.timeDeltas[index + 1] ?? 0;
    selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + Math.max(0, delta));
  });

  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  const byArea = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [nodeId, us] of selfUs) {
    const frame = frames.get(nodeId)!;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}|${where}`;
    const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const area = areaOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const percent = (us: number) => Math.round((us / Math.max(1, busyUs)) * 1000) / 10;
  const toMs = (us: number) => Math.round(us / 100) / 10;
  return {
    busyMs: toMs(busyUs),
    idleMs: toMs(idleUs),
    functions: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((entry) => ({ name: entry.name, where: entry.where, selfMs: toMs(entry.us), selfPercent: percent(entry.us) })),
    areas: [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ name: area, where: '', selfMs: toMs(us), selfPercent: percent(us) })),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [`busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`, '', 'self time by area:'];
  for (const area of summary.areas) lines.push(`  ${area.selfPercent.toFixed(1).padStart(5)}%  ${area.name}`);
  lines.push('', 'self time by function:');
  for (const fn of summary.functions) lines.push(`  ${fn.selfPercent.toFixed(1).padStart(5)}%  ${fn.name}  ${fn.where}`);
  return lines.join('\n');
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  const src = path.search(/\/(src|bench|demo|test)\//);
  return src >= 0 ? path.slice(src + 1) : path;
}

function areaOf(frame: CallFrame): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return frame.url;
  const short = shortUrl(frame.url);
  if (frame.url.includes('/node_modules/')) {
    const parts = short.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return short;
}
