import type { Store } from '../../../src/store/types.ts';

/**
 * A real store seen through a call counter: every method call is recorded by name, then
 * forwarded unchanged. Lets a test state "one round trip, no write" without a mock.
 */
export function countingStore(inner: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}
