/**
 * Time for the runtime (shutdown deadlines, the drain delay, worker restarts), injectable so
 * that unit tests move it by hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes back. */
  now(): number;
  /** Calls `fn` after `ms`; returns the function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.after(ms, resolve);
  });
}
