import { inspect } from 'node:util';

/**
 * How values that hold secrets print: by an allowlist (as Koa's `only(...)` picks fields). A type
 * names the fields that may be printed; every other field prints as '[present]' (absent when
 * it is undefined or null), so a field added later stays hidden until someone decides it may be
 * shown. pino, console, util.inspect and JSON.stringify all go through `toJSON()` or
 * `util.inspect.custom`, which both give this view. Code that must write the secrets (a store
 * codec) reads the fields themselves, never JSON.stringify of the holder.
 */

export const PRESENT = '[present]';

/** `target`'s own enumerable fields: the printable ones as they are, the others '[present]'. */
function printableView(target: object, printable: ReadonlySet<string>): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(target)) {
    view[key] = printable.has(key) || value === undefined || value === null ? value : PRESENT;
  }
  return view;
}

/** The base of every class that holds a secret: it prints only the fields it names as printable. */
export abstract class SecretHolder {
  readonly #printable: ReadonlySet<string>;

  protected constructor(printable: readonly string[]) {
    this.#printable = new Set(printable);
  }

  toJSON(): Record<string, unknown> {
    return printableView(this, this.#printable);
  }

  [inspect.custom](): Record<string, unknown> {
    return this.toJSON();
  }
}

/**
 * The same printing for a plain object that holds secrets (the parts of the validated config):
 * `toJSON` and `util.inspect.custom` are added as non-enumerable properties, so spreading,
 * equality and `Object.keys` see the object as before (a spread copy loses them: hide it again).
 */
export function hideSecrets<T extends object>(value: T, printable: readonly string[]): T {
  const fields = new Set(printable);
  const view = () => printableView(value, fields);
  Object.defineProperty(value, 'toJSON', { value: view, enumerable: false });
  Object.defineProperty(value, inspect.custom, { value: view, enumerable: false });
  return value;
}
