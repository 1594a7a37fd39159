import { inspect } from 'node:util';
import { expect } from 'vitest';

/** Every printable view of an error: message, stack, inspect (with the cause chain) and JSON. */
export function printedForms(err: unknown): string {
  const error = err as Error & { cause?: unknown };
  return [String(error?.message), String(error?.stack), inspect(err, { depth: 6 }), JSON.stringify(err) ?? '', inspect(error?.cause, { depth: 6 })].join('\n');
}

/** The error names none of the secrets, and no URL with a query string. */
export function expectNoSecrets(err: unknown, secrets: readonly string[]): void {
  const printed = printedForms(err);
  for (const secret of secrets) expect(printed).not.toContain(secret);
  expect(printed).not.toMatch(/https?:\/\/\S*\?/);
}

/** The rejection of a promise, for assertions on the error itself. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}
