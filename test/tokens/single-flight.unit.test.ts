import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../src/tokens/single-flight.ts';

describe('single flight per key', () => {
  it('callers that arrive while the work runs share it; only the first started it', async () => {
    const flight = new SingleFlight<number>();
    let runs = 0;
    let release!: (value: number) => void;
    const work = () => {
      runs += 1;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const callers = [flight.run('a', work), flight.run('a', work), flight.run('a', work)];
    expect(flight.size).toBe(1);
    release(42);
    const results = await Promise.all(callers);
    expect(runs).toBe(1);
    expect(results.map((r) => r.value)).toEqual([42, 42, 42]);
    expect(results.map((r) => r.joined)).toEqual([false, true, true]);
    expect(flight.size).toBe(0);
  });

  it('different keys run independently, and a key runs afresh once its work settled', async () => {
    const flight = new SingleFlight<string>();
    let runs = 0;
    const work = async () => `run ${++runs}`;
    const [a, b] = await Promise.all([flight.run('a', work), flight.run('b', work)]);
    expect([a.value, b.value].sort()).toEqual(['run 1', 'run 2']);
    expect((await flight.run('a', work)).value).toBe('run 3');
  });

  it('a failure reaches every caller and does not stick', async () => {
    const flight = new SingleFlight<number>();
    const failing = async () => {
      throw new Error('boom');
    };
    const both = await Promise.allSettled([flight.run('k', failing), flight.run('k', failing)]);
    expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(both.map((r) => (r as PromiseRejectedResult).reason.message)).toEqual(['boom', 'boom']);
    expect((await flight.run('k', async () => 7)).value).toBe(7);
  });
});
