import { z } from 'zod';
import { DURATION_PATTERN } from './duration.ts';
import { configSchema } from './schema.ts';

/**
 * The JSON Schema of a Tokengate YAML file, generated from the zod schema (`npm run schema`
 * writes config/tokengate.schema.json; a test keeps the committed file equal to this). Editors
 * use it through the first line of a config file:
 *
 *   # yaml-language-server: $schema=./tokengate.schema.json
 *
 * zod describes values after the loader has worked on them; a file is what comes before. So the
 * generated schema is adjusted to the loader (src/config/load.ts), never to more than it accepts:
 *
 * - durations: a number of seconds (>= 0) or a string the duration parser takes (`30s`, `5m`);
 * - `{ env: NAME }` and `{ file: /path }` stand for any string value, anywhere (they resolve to
 *   strings, so never for numbers, booleans, lists or mappings);
 * - what a `TOKENGATE_*` variable can supply is not required in the file (`keys`, each provider's
 *   `clientSecret`, `store.redis`);
 * - URLs must have the protocol the zod schema allows (http or https).
 *
 * What JSON Schema cannot say stays with `tokengate check-config`: cross-field rules (unique
 * provider ids and route prefixes, exactly one Redis mode, absoluteTimeout >= idleTimeout), key
 * material, and whether a named variable or file exists.
 */

type Json = Record<string, unknown>;

/** `{ env: NAME }` or `{ file: /path }`: a string read from the environment or a file. */
const SECRET_REF_DEF: Json = {
  description: 'a value read from an environment variable ({ env: NAME }) or a file ({ file: /path })',
  type: 'object',
  properties: {
    env: { type: 'string', minLength: 1, description: 'the name of an environment variable holding the value' },
    file: { type: 'string', minLength: 1, description: 'a file holding the value (one trailing newline is trimmed)' },
  },
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
};

const SECRET_REF: Json = { $ref: '#/$defs/secretRef' };

const DURATION_STRING = `^\\s*(?:${DURATION_PATTERN.source.replace(/^\^/, '').replace(/\$$/, '')})\\s*$`;

/** A number of seconds, or a string the duration parser takes (after trimming). */
const DURATION_DEF: Json = {
  description: 'a duration: "250ms", "30s", "5m", "12h", "7d", or a number of seconds',
  anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: DURATION_STRING }, SECRET_REF],
};

/** Formats that zod emits for its own checks (`startsWith`) and JSON Schema does not define. */
const ZOD_ONLY_FORMATS = new Set(['starts_with', 'ends_with', 'includes', 'regex']);

/** Paths (in the file) of what an environment variable can supply instead; see load.ts. */
const SUPPLIED_BY_ENV: Array<{ at: (root: Json) => Json[]; property: string; variable: string }> = [
  { at: (root) => [root], property: 'keys', variable: 'TOKENGATE_ENCRYPTION_KEYS and TOKENGATE_COOKIE_KEYS' },
  { at: (root) => [child(root, 'properties', 'keys')], property: 'encryption', variable: 'TOKENGATE_ENCRYPTION_KEYS' },
  { at: (root) => [child(root, 'properties', 'keys')], property: 'cookie', variable: 'TOKENGATE_COOKIE_KEYS' },
  { at: (root) => branches(child(root, 'properties', 'providers', 'items'), 'clientSecret'), property: 'clientSecret', variable: 'TOKENGATE_PROVIDER_<ID>_CLIENT_SECRET' },
  { at: (root) => branches(child(root, 'properties', 'store'), 'redis'), property: 'redis', variable: 'TOKENGATE_REDIS_URL' },
];

export function configJsonSchema(): Json {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-2020-12',
    override: ({ zodSchema, jsonSchema }) => {
      const protocol = (zodSchema._zod.def as { protocol?: unknown }).protocol;
      if (jsonSchema.format === 'uri' && protocol instanceof RegExp) {
        jsonSchema.pattern = `^(?:${protocol.source.replace(/^\^/, '').replace(/\$$/, '')}):\\/\\/`;
      }
    },
  }) as Json;

  for (const rule of SUPPLIED_BY_ENV) {
    for (const node of rule.at(generated)) {
      // Optional already (an OIDC provider's clientSecret, which private_key_jwt does without):
      // only the description says where else it may come from.
      const property = child(node, 'properties', rule.property);
      if (Array.isArray(node.required) && node.required.includes(rule.property)) {
        const required = (node.required as string[]).filter((name) => name !== rule.property);
        if (required.length === 0) delete node.required;
        else node.required = required;
      }
      property.description = `may instead come from ${rule.variable}`;
    }
  }

  const schema = adjust(generated) as Json;
  return {
    $schema: schema.$schema,
    title: 'Tokengate configuration',
    description: 'Generated from src/config/schema.ts by `npm run schema`; `tokengate check-config` checks what JSON Schema cannot.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
    $defs: { duration: DURATION_DEF, secretRef: SECRET_REF_DEF },
  };
}

/** Rewrites every node, bottom up: durations, secret references, discriminated unions. */
function adjust(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(adjust);
  if (!isJson(node)) return node;
  const out: Json = {};
  // Property names are names, never values: they stay as zod describes them.
  for (const [key, value] of Object.entries(node)) out[key] = key === 'propertyNames' ? value : adjust(value);

  if (typeof out.format === 'string' && ZOD_ONLY_FORMATS.has(out.format)) delete out.format;
  // A discriminated union: with `{ env }` allowed for the discriminator too, more than one
  // branch may match, which oneOf would refuse and the loader accepts.
  if (Array.isArray(out.oneOf)) {
    out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  // A mapping of arbitrary names (authorizationParams) must not itself be a secret reference.
  if (out.type === 'object' && isJson(out.additionalProperties)) out.not = SECRET_REF;

  if (isDuration(out)) return durationSchema(out);
  if (out.type === 'string') return withSecretRef(out);
  return out;
}

/** The zod duration helper is the schema's only `number | string` union. */
function isDuration(node: Json): boolean {
  return Array.isArray(node.type) && node.type.length === 2 && node.type.includes('number') && node.type.includes('string');
}

function durationSchema(node: Json): Json {
  const { type: _type, ...annotations } = node;
  return { ...annotations, $ref: '#/$defs/duration' };
}

function withSecretRef(node: Json): Json {
  const annotations: Json = {};
  const value: Json = {};
  for (const [key, entry] of Object.entries(node)) (key === 'default' || key === 'description' ? annotations : value)[key] = entry;
  return { ...annotations, anyOf: [value, SECRET_REF] };
}

function child(node: Json, ...path: string[]): Json {
  let current: unknown = node;
  for (const key of path) current = isJson(current) ? current[key] : undefined;
  if (!isJson(current)) throw new Error(`config JSON Schema: nothing at ${path.join('.')}; update SUPPLIED_BY_ENV`);
  return current;
}

/** The branches of a union (or the node itself) that have the property. */
function branches(node: Json, property: string): Json[] {
  const union = (node.oneOf ?? node.anyOf) as unknown;
  const candidates = Array.isArray(union) ? union.filter(isJson) : [node];
  const found = candidates.filter((candidate) => isJson(candidate.properties) && property in candidate.properties);
  if (found.length === 0) throw new Error(`config JSON Schema: no ${property} here; update SUPPLIED_BY_ENV`);
  return found;
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
