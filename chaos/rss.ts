import { readFileSync } from 'node:fs';

/**
 * Resident memory of a set of processes, sampled every `everyMs`, and its slope (least squares,
 * MB per minute). Reads /proc (Linux).
 */

export function rssMb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface RssSampler {
  stop(): { samples: number; slopeMbPerMin: number; peakMb: number; firstMb: number; lastMb: number; pids: number };
}

export function sampleRss(pids: () => number[], everyMs = 500): RssSampler {
  const points: Array<[number, number]> = [];
  let most = 0;
  const take = () => {
    const current = pids();
    most = Math.max(most, current.length);
    const total = current.reduce((sum, pid) => sum + (rssMb(pid) ?? 0), 0);
    if (total > 0) points.push([performance.now() / 60_000, total]);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return {
        samples: points.length,
        slopeMbPerMin: slope(points),
        peakMb: points.reduce((peak, [, mb]) => Math.max(peak, mb), 0),
        firstMb: points[0]?.[1] ?? 0,
        lastMb: points.at(-1)?.[1] ?? 0,
        pids: most,
      };
    },
  };
}

function slope(points: ReadonlyArray<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
