import type { Clock } from '../../../src/runtime/clock.ts';

/** A clock that moves only when a test advances it; due timers fire in order. */
export class ManualClock implements Clock {
  #now = 0;
  #timers: Array<{ at: number; fn: () => void; seq: number }> = [];
  #seq = 0;

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + Math.max(0, ms), fn, seq: this.#seq++ };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((candidate) => candidate !== timer);
    };
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing each timer that falls due (and letting promises settle between them). */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (let fired = 0; ; fired += 1) {
      if (fired > 10_000) throw new Error('ManualClock: timers keep rescheduling themselves');
      const due = this.#timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((timer) => timer !== due);
      this.#now = due.at;
      due.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets every promise callback that is ready run (a few macrotask turns, no real time). */
export async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
