/**
 * Things under way (requests, refreshes, revocations, worker processes) and a wait for none:
 * `idle()` resolves once the set is empty, including things added while waiting.
 */
export class InFlight<T> implements Iterable<T> {
  readonly #items = new Set<T>();
  #waiters: Array<() => void> = [];

  add(item: T): void {
    this.#items.add(item);
  }

  delete(item: T): void {
    if (!this.#items.delete(item) || this.#items.size > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  get size(): number {
    return this.#items.size;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.#items.values();
  }

  /** Resolves once nothing is in flight. Never rejects. */
  idle(): Promise<void> {
    if (this.#items.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
