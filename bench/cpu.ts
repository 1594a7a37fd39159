import { readFile } from 'node:fs/promises';

/**
 * CPU time another process has used (user + system), from Linux's /proc/<pid>/stat. Divided by
 * the requests a row served, it is the process's CPU cost per request: unlike requests per
 * second, it barely moves when other work on a shared machine takes cores away.
 */

/** Linux reports utime and stime in clock ticks of USER_HZ, which is 100 on every mainstream build. */
const TICKS_PER_SECOND = 100;

/** Milliseconds of CPU used so far by `pid`, or undefined when /proc cannot say (not Linux, process gone). */
export async function cpuTimeMs(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces; fields after it are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}
