import { describe, expect, it } from 'vitest';
import { cpuTimeMs } from '../../bench/cpu.ts';

describe('CPU time of a process from /proc', () => {
  it.runIf(process.platform === 'linux')('grows while the process works', async () => {
    const before = (await cpuTimeMs(process.pid))!;
    const until = performance.now() + 200;
    let spin = 0;
    while (performance.now() < until) spin += 1;
    const after = (await cpuTimeMs(process.pid))!;
    expect(spin).toBeGreaterThan(0);
    expect(before).toBeGreaterThan(0);
    // 200 ms of spinning, at 10 ms tick resolution, on a machine that may be shared.
    expect(after - before).toBeGreaterThanOrEqual(50);
  });

  it('is undefined for a process that does not exist', async () => {
    expect(await cpuTimeMs(2 ** 30)).toBeUndefined();
  });
});
