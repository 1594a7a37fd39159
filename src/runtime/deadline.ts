import { systemClock, type Clock } from '../clock.ts';

/**
 * One deadline shared by the steps of a shutdown: each step waits only for what is left of it.
 */
export class Deadline {
  readonly #at: number;
  readonly #clock: Clock;

  constructor(ms: number, clock: Clock = systemClock) {
    this.#clock = clock;
    this.#at = clock.now() + Math.max(0, ms);
  }

  /** Milliseconds left, never negative. */
  get remaining(): number {
    return Math.max(0, this.#at - this.#clock.now());
  }

  /** True when `work` settled before the deadline; false when time ran out first. Never rejects. */
  async wait(work: Promise<unknown>): Promise<boolean> {
    let cancel: (() => void) | undefined;
    const expired = new Promise<false>((resolve) => {
      cancel = this.#clock.after(this.remaining, () => resolve(false));
    });
    try {
      return await Promise.race([work.then(() => true, () => true), expired]);
    } finally {
      cancel?.();
    }
  }
}
