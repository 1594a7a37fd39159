/**
 * When a cluster primary restarts a worker that died unexpectedly: after a delay that doubles
 * with each recent death (`baseDelayMs`, 2×, 4×, ... up to `maxDelayMs`), and not at all once
 * more than `maxRestarts` deaths fall within `windowMs`: a worker that keeps dying is a fault
 * to report (exit 3), not to hide.
 */

export interface RestartPolicyOptions {
  /** Default 500 ms. */
  baseDelayMs?: number;
  /** Default 10 s. */
  maxDelayMs?: number;
  /** Default 5. */
  maxRestarts?: number;
  /** Default 60 s. */
  windowMs?: number;
}

export class RestartPolicy {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxRestarts: number;
  readonly #windowMs: number;
  #deaths: number[] = [];

  constructor(options: RestartPolicyOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 10_000;
    this.#maxRestarts = options.maxRestarts ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
  }

  /** Records a death at `now` (ms); the delay before the restart, or undefined to give up. */
  afterDeath(now: number): number | undefined {
    this.#deaths = [...this.#deaths.filter((at) => now - at < this.#windowMs), now];
    const recent = this.#deaths.length;
    if (recent > this.#maxRestarts) return undefined;
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (recent - 1));
  }
}
