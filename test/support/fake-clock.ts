import type { Clock } from '../../src/clock.ts';

interface Timer {
  at: number;
  /** Repeats every this many ms; undefined for a one-shot timer. */
  every: number | undefined;
  fn: () => void;
}

/** Lets the work a fired timer started run on: promise callbacks, then real I/O that is already done. */
const realTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A Clock whose time moves only when the test says so. Timers fire in order of their time as it
 * passes, each given a real turn of the event loop for the work it starts (a store call on
 * MemoryStore or a loopback Redis), so a test of waits and leases takes no real time.
 */
export class FakeClock implements Clock {
  #now: number;
  readonly #timers = new Set<Timer>();

  /** `start`: the first `now()`; an epoch ms lets a MemoryStore share the clock. */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    return this.#add({ at: this.#now + Math.max(0, ms), every: undefined, fn });
  }

  every(ms: number, fn: () => void): () => void {
    return this.#add({ at: this.#now + Math.max(1, ms), every: Math.max(1, ms), fn });
  }

  /** Timers still to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (let fired = 0; fired < 100_000; fired++) {
      const next = this.#next();
      if (next === undefined || next.at > until) break;
      await this.#fire(next);
    }
    this.#now = until;
    await realTurn();
  }

  /**
   * Waits for `work`, moving time only while it sleeps: whenever a one-shot timer is pending (a
   * wait like the refresher's poll pause or its deadline), time jumps to it; otherwise the real
   * event loop turns (the store is answering). For work that waits on time, not on a slow
   * answer: a pending deadline is reached even while a store or provider call is under way.
   * Fails after `maxTurns` real turns.
   */
  async run<T>(work: Promise<T>, maxTurns = 20_000): Promise<T> {
    let settled = false;
    const done = work.finally(() => {
      settled = true;
    });
    done.catch(() => undefined);
    for (let turn = 0; turn < maxTurns && !settled; turn++) {
      const sleeper = this.#nextOneShot();
      if (sleeper !== undefined) await this.advance(sleeper.at - this.#now);
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (!settled) throw new Error(`FakeClock.run: the work did not finish within ${maxTurns} turns`);
    return work;
  }

  #add(timer: Timer): () => void {
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  #next(): Timer | undefined {
    let first: Timer | undefined;
    for (const timer of this.#timers) if (first === undefined || timer.at < first.at) first = timer;
    return first;
  }

  #nextOneShot(): Timer | undefined {
    let first: Timer | undefined;
    for (const timer of this.#timers) if (timer.every === undefined && (first === undefined || timer.at < first.at)) first = timer;
    return first;
  }

  async #fire(timer: Timer): Promise<void> {
    this.#now = Math.max(this.#now, timer.at);
    if (timer.every === undefined) this.#timers.delete(timer);
    else timer.at += timer.every;
    timer.fn();
    await realTurn();
  }
}

/** Lets every promise callback that is ready run (a few macrotask turns, no real time). */
export async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
