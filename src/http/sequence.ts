import type { Context, Middleware, Next } from 'koa';

/**
 * Koa middleware run one after the other, as one middleware: each step calls `next` to go on,
 * and the last step's `next` is the one the sequence was given. For endpoints built as an
 * ordered list of small steps (the proxy, the forward-auth verify answer).
 */
export function sequence(steps: readonly Middleware[]): Middleware {
  return function runSequence(ctx: Context, next: Next): Promise<void> {
    const run = (index: number): Promise<void> => {
      const step = steps[index];
      return step === undefined ? next() : Promise.resolve(step(ctx, () => run(index + 1)));
    };
    return run(0);
  };
}
