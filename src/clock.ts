/**
 * Time as Tokengate waits on it: a monotonic `now` for deadlines and waits, and timers.
 * Injectable (the runtime's shutdown and worker supervision, the token service's lock waits and
 * leases), so tests move time by hand instead of sleeping. Expiry decisions use the epoch clock
 * instead (TokenService's `now` option): they compare with token dates.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes back, only differences mean anything. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

function timers(ref: boolean): Clock {
  return {
    now: () => performance.now(),
    after(ms, fn) {
      const timer = setTimeout(fn, ms);
      if (!ref) timer.unref();
      return () => clearTimeout(timer);
    },
    every(ms, fn) {
      const timer = setInterval(fn, ms);
      if (!ref) timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** Timers that hold the process open while they are pending (shutdown deadlines, worker restarts). */
export const systemClock: Clock = timers(true);

/** Timers that never hold the process open: a background refresh or a lock wait does not delay an exit. */
export const backgroundClock: Clock = timers(false);

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}
