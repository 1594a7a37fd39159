import { describe, expect, it } from 'vitest';
import { Deadline } from '../../src/runtime/deadline.ts';
import { FakeClock } from '../support/fake-clock.ts';

/** The shutdown's shared deadline on a clock moved by hand. */

describe('Deadline', () => {
  it('counts down on its clock and never goes below zero', async () => {
    const clock = new FakeClock();
    const deadline = new Deadline(1_000, clock);
    expect(deadline.remaining).toBe(1_000);
    await clock.advance(400);
    expect(deadline.remaining).toBe(600);
    await clock.advance(5_000);
    expect(deadline.remaining).toBe(0);
    expect(new Deadline(-5, clock).remaining).toBe(0);
  });

  it('wait() is true when the work settles first, rejected work included, and cancels its timer', async () => {
    const clock = new FakeClock();
    const deadline = new Deadline(1_000, clock);
    expect(await deadline.wait(Promise.resolve())).toBe(true);
    expect(await deadline.wait(Promise.reject(new Error('failed')))).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('wait() is false once the time left runs out, and each wait gets only what is left', async () => {
    const clock = new FakeClock();
    const deadline = new Deadline(1_000, clock);
    const never = new Promise<void>(() => undefined);
    let first: boolean | undefined;
    void deadline.wait(never).then((result) => (first = result));
    await clock.advance(999);
    expect(first).toBeUndefined();
    await clock.advance(1);
    expect(first).toBe(false);

    // A later step of the same shutdown: nothing left, so it gives up at once.
    let second: boolean | undefined;
    void deadline.wait(never).then((result) => (second = result));
    await clock.advance(0);
    expect(second).toBe(false);
  });
});
