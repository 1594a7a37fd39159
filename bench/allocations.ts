import { readFile } from 'node:fs/promises';
import { areaOf, functionKey, type CallFrame } from './frames.ts';

/**
 * Summarizes a sampling heap profile taken with collected objects included (see
 * children/gateway.ts): where the bytes were allocated, whether or not they are still alive.
 * Per-request garbage shows up here, not in a heap snapshot. Three views: by allocating
 * function, by area, and by the innermost function of ours (src/) on the allocating stack.
 */
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

export interface AllocationSpot {
  name: string;
  mb: number;
  percent: number;
}

export interface AllocationSummary {
  totalMb: number;
  byFunction: AllocationSpot[];
  byArea: AllocationSpot[];
  bySourceFunction: AllocationSpot[];
}

export async function summarizeAllocations(file: string, top = 15): Promise<AllocationSummary> {
  const { head } = JSON.parse(await readFile(file, 'utf8')) as { head: HeapNode };
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  const bySource = new Map<string, number>();
  let total = 0;
  const add = (map: Map<string, number>, key: string, bytes: number) => map.set(key, (map.get(key) ?? 0) + bytes);

  // An explicit stack: allocation trees are deep.
  const stack: { node: HeapNode; source: string }[] = [{ node: head, source: '(outside src/)' }];
  while (stack.length > 0) {
    const { node, source } = stack.pop()!;
    const frame = node.callFrame;
    const here = /\/src\//.test(frame.url) ? functionKey(frame).replace('|', '  ') : source;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(byFunction, functionKey(frame).replace('|', '  '), node.selfSize);
      add(byArea, areaOf(frame), node.selfSize);
      add(bySource, here, node.selfSize);
    }
    for (const child of node.children) stack.push({ node: child, source: here });
  }
  const spots = (map: Map<string, number>): AllocationSpot[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, bytes]) => ({ name, mb: Math.round(bytes / 1e5) / 10, percent: Math.round((bytes / Math.max(1, total)) * 1000) / 10 }));
  return { totalMb: Math.round(total / 1e6), byFunction: spots(byFunction), byArea: spots(byArea), bySourceFunction: spots(bySource) };
}

export function formatAllocations(summary: AllocationSummary): string {
  const line = (spot: AllocationSpot) => `  ${spot.percent.toFixed(1).padStart(5)}%  ${String(spot.mb).padStart(8)} MB  ${spot.name}`;
  return [
    `allocated (sampled, collected objects included): ${summary.totalMb} MB`,
    '',
    'by allocating function:',
    ...summary.byFunction.map(line),
    '',
    'by area:',
    ...summary.byArea.map(line),
    '',
    'by the innermost function of ours (src/) on the stack:',
    ...summary.bySourceFunction.map(line),
  ].join('\n');
}
