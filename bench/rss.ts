import { readFile } from 'node:fs/promises';

/**
 * Peak resident memory of another process (a gateway under load), from Linux's /proc: VmRSS is
 * sampled on an interval while the load runs, and VmHWM (the kernel's own high-water mark) is
 * read at the end, which also catches a peak between two samples.
 */
export interface RssReading {
  /** Highest VmRSS seen by sampling, MB. */
  sampledPeakMb: number;
  /** The kernel's high-water mark, MB (0 when unavailable). */
  highWaterMb: number;
  /** max of the two. */
  peakMb: number;
  samples: number;
}

export interface RssSampler {
  stop(): Promise<RssReading>;
}

export function sampleRss(pid: number, intervalMs = 100): RssSampler {
  let sampledPeakKb = 0;
  let samples = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const take = () => {
    inFlight = readStatus(pid).then((status) => {
      if (status === undefined) return;
      samples += 1;
      sampledPeakKb = Math.max(sampledPeakKb, status.rssKb);
    });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
      const status = await readStatus(pid);
      const highWaterKb = status?.hwmKb ?? 0;
      return {
        sampledPeakMb: toMb(sampledPeakKb),
        highWaterMb: toMb(highWaterKb),
        peakMb: toMb(Math.max(sampledPeakKb, highWaterKb)),
        samples,
      };
    },
  };
}

async function readStatus(pid: number): Promise<{ rssKb: number; hwmKb: number } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    // Not Linux, or the process is gone: no reading rather than a wrong one.
    return undefined;
  }
  return { rssKb: field(text, 'VmRSS'), hwmKb: field(text, 'VmHWM') };
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

function toMb(kb: number): number {
  return Math.round((kb / 1024) * 10) / 10;
}
