/**
 * Time as the refresh machinery waits on it: a monotonic `now` for deadlines and lock waits, and
 * timers that never hold the process open (a background refresh does not delay shutdown).
 * Injectable (TokenServiceOptions.clock), so tests move time by hand instead of sleeping.
 * Expiry decisions use the epoch clock (`now` option) instead: they compare with token dates.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin; only differences mean anything. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}
