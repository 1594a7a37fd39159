import { inspect } from 'node:util';

/**
 * Makes an object that holds secrets print safely: `toJSON()` and `util.inspect` show each
 * named field as '[present]' (or absent), never its value. pino, console and JSON.stringify all
 * go through one of the two.
 */
export function redactedView(target: object, secretFields: readonly string[]): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(target)) {
    view[key] = secretFields.includes(key) ? (value === undefined || value === null ? value : '[present]') : value;
  }
  return view;
}

export const inspectSymbol = inspect.custom;
