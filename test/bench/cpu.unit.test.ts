import { describe, expect, it } from 'vitest';
import { cpuTimeMs } from '../../bench/cpu.ts';

describe('CPU time of a process from /proc', () => {
  it.runIf(process.platform === 'linux')('grows while the process works, as much as process.cpuUsage says', async () => {
    const before = (await cpuTimeMs(process.pid))!;
    const usageBefore = process.cpuUsage();
    // Spin until this process has had 200 ms of CPU by its own account (a busy shared machine gives
    // it less than the wall clock); bounded by 20 s of wall time.
    const deadline = performance.now() + 20_000;
    let spin = 0;
    const usedMs = () => {
      const { user, system } = process.cpuUsage(usageBefore);
      return (user + system) / 1000;
    };
    while (usedMs() < 200 && performance.now() < deadline) spin += 1;
    const after = (await cpuTimeMs(process.pid))!;
    expect(spin).toBeGreaterThan(0);
    expect(before).toBeGreaterThan(0);
    // At 10 ms tick resolution, and other threads of this process count too.
    expect(after - before).toBeGreaterThanOrEqual(150);
  });

  it('is undefined for a process that does not exist', async () => {
    expect(await cpuTimeMs(2 ** 30)).toBeUndefined();
  });
});
