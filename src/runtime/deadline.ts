/**
 * One deadline shared by the steps of a shutdown: each step waits only for what is left of it.
 */
export class Deadline {
  readonly #at: number;

  constructor(ms: number) {
    this.#at = performance.now() + Math.max(0, ms);
  }

  /** Milliseconds left, never negative. */
  get remaining(): number {
    return Math.max(0, this.#at - performance.now());
  }

  /** True when `work` settled before the deadline; false when time ran out first. Never rejects. */
  async wait(work: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.remaining);
    });
    try {
      return await Promise.race([work.then(() => true, () => true), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
