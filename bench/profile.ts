import { readFile } from 'node:fs/promises';
import { areaOf, functionKey, type CallFrame } from './frames.ts';

/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and ranks where the time went:
 * - self time per function, with the JavaScript callers that native time came from;
 * - self time per area (a file of ours, a package, a Node internal module, GC);
 * - inclusive time per area and per function of ours (time with it anywhere on the stack).
 * Percentages are of the busy time: the profile's "(idle)" samples are left out.
 */
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  ms: number;
  percent: number;
  /** For self-time entries: the nearest JavaScript callers, heaviest first. */
  via?: string[];
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  selfByFunction: HotSpot[];
  selfByArea: HotSpot[];
  inclusiveByArea: HotSpot[];
  /** Our own code (src/) only. */
  inclusiveBySourceFunction: HotSpot[];
}

export async function summarizeProfile(file: string, top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

  const self = new Tally();
  const selfArea = new Tally();
  const inclusiveArea = new Tally();
  const inclusiveSource = new Tally();
  const via = new Map<string, Tally>();
  let idleUs = 0;
  let busyUs = 0;

  profile.samples.forEach((nodeId, index) => {
    // timeDeltas[i] is the time before sample i; the next delta is this sample's duration.
    const us = Math.max(0, profile.timeDeltas[index + 1] ?? 0);
    const frame = nodes.get(nodeId)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      return;
    }
    busyUs += us;
    const key = functionKey(frame);
    self.add(key, us);
    selfArea.add(areaOf(frame), us);
    const caller = nearestJsCaller(nodeId, nodes, parents);
    if (caller !== undefined) {
      const tally = via.get(key) ?? new Tally();
      tally.add(caller, us);
      via.set(key, tally);
    }
    const areas = new Set<string>();
    const sources = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parents.get(id)) {
      const stackFrame = nodes.get(id)!.callFrame;
      if (stackFrame.functionName === '(root)') continue;
      areas.add(areaOf(stackFrame));
      if (/\/src\//.test(stackFrame.url)) sources.add(functionKey(stackFrame));
    }
    for (const area of areas) inclusiveArea.add(area, us);
    for (const source of sources) inclusiveSource.add(source, us);
  });

  const spot = (key: string, us: number): HotSpot => {
    const [name, where] = key.split('|') as [string, string];
    return { name, where, ms: Math.round(us / 100) / 10, percent: Math.round((us / Math.max(1, busyUs)) * 1000) / 10 };
  };
  return {
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    selfByFunction: self.top(top).map(([key, us]) => ({ ...spot(key, us), via: (via.get(key)?.top(3) ?? []).map(([caller]) => caller.replace('|', ' ')) })),
    selfByArea: selfArea.top(top).map(([key, us]) => spot(`${key}|`, us)),
    inclusiveByArea: inclusiveArea.top(top).map(([key, us]) => spot(`${key}|`, us)),
    inclusiveBySourceFunction: inclusiveSource.top(top).map(([key, us]) => spot(key, us)),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const pct = (spot: HotSpot) => `${spot.percent.toFixed(1).padStart(5)}%`;
  const lines = [`busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`, '', 'self time by function (<- the JavaScript that called it):'];
  for (const fn of summary.selfByFunction) lines.push(`  ${pct(fn)}  ${fn.name}  ${fn.where}${fn.via?.length ? `   <- ${fn.via.join(' | ')}` : ''}`);
  lines.push('', 'self time by area:');
  for (const area of summary.selfByArea) lines.push(`  ${pct(area)}  ${area.name}`);
  lines.push('', 'inclusive time by area (on the stack at all):');
  for (const area of summary.inclusiveByArea) lines.push(`  ${pct(area)}  ${area.name}`);
  lines.push('', 'inclusive time of our own functions (src/):');
  for (const fn of summary.inclusiveBySourceFunction) lines.push(`  ${pct(fn)}  ${fn.name}  ${fn.where}`);
  return lines.join('\n');
}

class Tally {
  readonly #counts = new Map<string, number>();

  add(key: string, us: number): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + us);
  }

  top(count: number): [string, number][] {
    return [...this.#counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  }
}

/** The nearest JavaScript frame above a sample that is another function (skips native frames). */
function nearestJsCaller(nodeId: number, nodes: Map<number, ProfileNode>, parents: Map<number, number>): string | undefined {
  const own = functionKey(nodes.get(nodeId)!.callFrame);
  for (let id = parents.get(nodeId); id !== undefined; id = parents.get(id)) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.url !== '' && functionKey(frame) !== own) return functionKey(frame);
  }
  return undefined;
}
