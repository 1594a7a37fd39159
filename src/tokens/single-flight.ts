import { InFlight } from '../in-flight.ts';

/**
 * One in-flight operation per key inside this process. The first caller starts `work`; callers
 * that arrive while it runs get the same promise. The entry is removed when the work settles,
 * so the next caller after that starts afresh. Work that nobody awaits (a background refresh)
 * never becomes an unhandled rejection.
 */
export interface FlightResult<T> {
  value: T;
  /** False for the caller that started the work, true for those that joined it. */
  joined: boolean;
}

export interface Flight<T> {
  promise: Promise<T>;
  /** False for the caller that started the work, true for those that joined it. */
  joined: boolean;
}

export class SingleFlight<T> {
  readonly #inflight = new Map<string, Promise<T>>();
  readonly #running = new InFlight<Promise<T>>();

  /** Starts `work` for `key` unless it is already running; does not wait for it. */
  start(key: string, work: () => Promise<T>): Flight<T> {
    const running = this.#inflight.get(key);
    if (running) return { promise: running, joined: true };
    const started = work().finally(() => {
      if (this.#inflight.get(key) === started) this.#inflight.delete(key);
      this.#running.delete(started);
    });
    // Callers that await the promise see the rejection; nobody awaiting is fine too.
    started.catch(() => undefined);
    this.#inflight.set(key, started);
    this.#running.add(started);
    return { promise: started, joined: false };
  }

  async run(key: string, work: () => Promise<T>): Promise<FlightResult<T>> {
    const flight = this.start(key, work);
    return { value: await flight.promise, joined: flight.joined };
  }

  /** Number of keys with work in flight (for tests and shutdown). */
  get size(): number {
    return this.#inflight.size;
  }

  /** Resolves once no work is in flight, including work started while waiting. Never rejects. */
  idle(): Promise<void> {
    return this.#running.idle();
  }
}
