import { CorruptRecordError, StoreUnavailableError } from '../errors.ts';

/**
 * How a Redis failure becomes the one public error. Every failure of a store call, whatever
 * ioredis reported (connection refused, command timeout, queue flushed, a reply error), is a
 * StoreUnavailableError: never a null that could read as "no session".
 */

/**
 * The cause kept on the public error: name, message and Redis error code only. ioredis attaches
 * the failed command and its arguments to reply errors; those arguments hold sealed token sets
 * and session ids, and a logged cause chain must not carry them.
 */
export function sanitizedCause(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const cause = new Error(err.message);
  cause.name = err.name;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(cause, { code });
  return cause;
}

/** Every failure becomes StoreUnavailableError, except a record that was read but is corrupt. */
export function toStoreError(err: unknown): StoreUnavailableError | CorruptRecordError {
  if (err instanceof StoreUnavailableError || err instanceof CorruptRecordError) return err;
  return new StoreUnavailableError(undefined, { cause: sanitizedCause(err) });
}

export class StoreDeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`store call did not complete within ${ms} ms`);
    this.name = 'StoreDeadlineExceeded';
  }
}

/** Settles like `promise`, or rejects with StoreDeadlineExceeded after `ms`, whichever is first. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreDeadlineExceeded(ms)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
