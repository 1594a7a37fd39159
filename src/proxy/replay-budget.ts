/**
 * A process-wide budget of bytes that request bodies may occupy while buffered for replay.
 * Each request takes a `Reservation`, grows it chunk by chunk and releases it once the body
 * cannot be replayed any more (the exchange is over). When a chunk does not fit, the body is
 * streamed without replay instead (see request-body.ts): the request still goes through, only
 * the replay-once-after-401 is given up, and memory stays bounded however many clients upload.
 */
export class ReplayBudget {
  readonly #limit: number;
  #used = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Bytes currently reserved. */
  get used(): number {
    return this.#used;
  }

  reserve(): Reservation {
    return new Reservation(this);
  }

  /** @internal */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.#limit) return false;
    this.#used += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.#used -= bytes;
  }
}

export class Reservation {
  readonly #budget: ReplayBudget;
  #bytes = 0;

  constructor(budget: ReplayBudget) {
    this.#budget = budget;
  }

  /** Adds `bytes`; false (and nothing added) when the budget cannot hold them. */
  grow(bytes: number): boolean {
    if (!this.#budget.take(bytes)) return false;
    this.#bytes += bytes;
    return true;
  }

  /** Gives every reserved byte back; safe to call more than once. */
  release(): void {
    this.#budget.give(this.#bytes);
    this.#bytes = 0;
  }
}
