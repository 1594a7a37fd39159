import type { z } from 'zod';
import type { ConfigIssue } from '../errors.ts';
import { providerSecretVariable } from './env-variables.ts';

/**
 * Schema problems in words a person understands, from zod's issues and the input they were
 * found in:
 * - a missing field is "required" (a secret also names its environment variables);
 * - a wrong type says what was expected and what kind of value came ("a number, got a string");
 * - an unknown key is named, with "did you mean" the closest known key at that place;
 * - a misspelt key does not also report the field it was meant to be as missing;
 * - a wrong choice lists the choices.
 * The input's values are never quoted except an unknown `type` or option (short, not secret).
 */

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

export function describeIssues(issues: readonly Issue[], input: unknown, schema: z.ZodType): ConfigIssue[] {
  const described: (ConfigIssue & { missing?: true; suggestion?: string })[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path, input);
      for (const key of issue.keys) {
        const suggestion = closest(key, known);
        described.push({
          path: pathText([...issue.path, key]),
          message: suggestion === undefined ? `unknown key "${key}"` : `unknown key "${key}": did you mean "${suggestion}"?`,
          ...(suggestion === undefined ? {} : { suggestion: pathText([...issue.path, suggestion]) }),
        });
      }
      continue;
    }
    // A cross-field rule may report a field as missing too (`params.missing`, see provider-schema.ts).
    const flaggedMissing = issue.code === 'custom' && (issue.params as { missing?: unknown } | undefined)?.missing === true;
    const missing = (issue.code === 'invalid_type' || flaggedMissing) && valueAt(input, issue.path) === undefined;
    described.push({ path: pathText(issue.path), message: missing ? required(issue.path, input) : reword(issue, input), ...(missing ? { missing: true } : {}) });
  }
  // A misspelt key is the problem; the field it was meant to be is not also "required".
  const suggested = new Set(described.map((issue) => issue.suggestion).filter((path) => path !== undefined));
  return described.filter((issue) => !(issue.missing && suggested.has(issue.path))).map(({ path, message }) => ({ path, message }));
}

function pathText(path: Path): string {
  return path.map(String).join('.');
}

function required(path: Path, input: unknown): string {
  const variables = secretVariables(path, input);
  return variables === undefined ? 'required' : `required: set it here, or in the environment as ${variables}`;
}

/** The environment variables that may hold a secret at `path`, as "NAME (or NAME_FILE)". */
function secretVariables(path: Path, input: unknown): string | undefined {
  const both = (name: string) => `${name} (or ${name}_FILE, a file holding it)`;
  const text = pathText(path);
  if (text === 'keys') return `${both('TOKENGATE_ENCRYPTION_KEYS')} and ${both('TOKENGATE_COOKIE_KEYS')}`;
  if (text === 'keys.encryption') return both('TOKENGATE_ENCRYPTION_KEYS');
  if (text === 'keys.cookie') return both('TOKENGATE_COOKIE_KEYS');
  if (text === 'forwardAuth.sharedSecret') return both('TOKENGATE_FORWARD_AUTH_SECRET');
  if (path.length === 3 && path[0] === 'providers' && path[2] === 'clientSecret') {
    const id = valueAt(input, ['providers', path[1]!, 'id']);
    return both(typeof id === 'string' ? providerSecretVariable(id) : 'TOKENGATE_PROVIDER_<ID>_CLIENT_SECRET');
  }
  return undefined;
}

function reword(issue: Issue, input: unknown): string {
  const value = valueAt(input, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      // A message the schema chose ("must be an http(s) URL") says more than the type.
      return issue.message.startsWith('Invalid input') ? `expected ${article(issue.expected)}, got ${kindOf(value)}` : issue.message;
    case 'invalid_union': {
      const options = 'options' in issue && Array.isArray(issue.options) ? (issue.options as unknown[]).map(String) : undefined;
      const discriminator = 'discriminator' in issue && typeof issue.discriminator === 'string' ? issue.discriminator : undefined;
      if (options !== undefined && discriminator !== undefined) {
        const chosen = valueAt(input, [...issue.path]);
        return `${chosen === undefined ? 'required' : `unknown ${discriminator} ${shortQuote(chosen)}`}: one of ${options.join(', ')}`;
      }
      return 'not any of the accepted forms';
    }
    case 'too_small':
    case 'too_big': {
      // Zod's own wording starts "Too small"/"Too big"; a message the schema chose is kept.
      if (!/^Too (small|big)/.test(issue.message)) return issue.message;
      const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const bound = issue.code === 'too_small' ? 'at least' : 'at most';
      if (issue.origin === 'string') return issue.code === 'too_small' && limit === 1 ? 'must not be empty' : `must be ${bound} ${limit} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `needs ${bound} ${limit} item${limit === 1 ? '' : 's'}`;
      return `must be ${bound} ${limit}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((option) => String(option)).join(', ')}; got ${shortQuote(value)}`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'a mapping (key: value)';
  if (expected === 'boolean') return 'true or false';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  return article(typeof value);
}

/** A short value, quoted; long ones are cut. Used only for a chosen type or option. */
function shortQuote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

function valueAt(input: unknown, path: Path): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Edit distance; a suggestion is offered within a third of the key's length (at least 2). */
export function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

// ---- the keys the schema knows at a path (zod's definitions, read only) ----

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  discriminator?: string;
  values?: unknown[];
}

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

/** Through default, prefault, optional, pipe (transform) wrappers to the schema inside. */
function unwrap(def: Def): Def {
  let current = def;
  for (let depth = 0; depth < 20; depth += 1) {
    const inner = current.innerType ?? (current.type === 'pipe' ? current.in : undefined);
    if (inner === undefined) return current;
    current = defOf(inner);
  }
  return current;
}

/** The object schema at `path`; for a union, the option the input's discriminator picks. */
function objectAt(schema: unknown, path: Path, input: unknown): Def | undefined {
  let def = unwrap(defOf(schema));
  for (let index = 0; index <= path.length; index += 1) {
    if (def.type === 'union' && def.options) {
      const value = valueAt(input, path.slice(0, index));
      const picked = def.discriminator === undefined ? undefined : pickOption(def, (value as Record<string, unknown> | undefined)?.[def.discriminator]);
      if (picked === undefined) return undefined;
      def = picked;
    }
    if (index === path.length) return def.type === 'object' ? def : undefined;
    const key = path[index]!;
    if (def.type === 'array' && def.element && typeof key === 'number') def = unwrap(defOf(def.element));
    else if (def.type === 'object' && def.shape && typeof key === 'string' && def.shape[key]) def = unwrap(defOf(def.shape[key]));
    else return undefined;
  }
  return undefined;
}

function pickOption(def: Def, value: unknown): Def | undefined {
  for (const option of def.options ?? []) {
    const inner = unwrap(defOf(option));
    const literal = inner.shape?.[def.discriminator!];
    if (literal && unwrap(defOf(literal)).values?.includes(value)) return inner;
  }
  return undefined;
}

function knownKeys(schema: unknown, path: Path, input: unknown): string[] {
  return Object.keys(objectAt(schema, path, input)?.shape ?? {});
}
