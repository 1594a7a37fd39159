import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { providerSecretVariable } from './env-variables.ts';
import { describeIssues } from './messages.ts';
import { configSchema, type Config } from './schema.ts';

/**
 * Loads configuration: a YAML file, then environment overrides for secrets, then the schema.
 * Every problem (YAML syntax, unreadable secret files, schema violations) is collected and
 * thrown at once as one ConfigError. The result is deeply frozen. This is the only module that
 * reads `process.env`.
 *
 * Any string field may instead be written `{ env: NAME }` or `{ file: /path }`; the file form is
 * how Kubernetes mounts secrets (trailing newlines are trimmed).
 */
export interface LoadOptions {
  /** YAML file path. */
  file?: string;
  /** YAML text, instead of a file (tests, `dev`). */
  text?: string;
  /** An already-parsed object, merged under the env overrides. */
  object?: unknown;
  env?: NodeJS.ProcessEnv;
  /** Receives the path of every secret file read (`{ file }` leaves, `<NAME>_FILE`), for a key reload to watch. */
  onSecretFile?: (path: string) => void;
}

type Raw = Record<string, unknown>;

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  let raw: unknown = options.object ?? {};

  if (options.file !== undefined || options.text !== undefined) {
    let text = options.text;
    if (text === undefined) {
      try {
        text = readFileSync(options.file!, 'utf8');
      } catch (err) {
        throw new ConfigError([{ path: '', message: `cannot read config file ${options.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }]);
      }
    }
    const doc = parseDocument(text, { prettyErrors: true });
    for (const error of doc.errors) issues.push({ path: '', message: `YAML: ${error.message}` });
    raw = doc.toJS() ?? {};
  }

  if (!isObject(raw)) throw new ConfigError([...issues, { path: '', message: 'the configuration must be a mapping' }]);
  const onFile = options.onSecretFile ?? (() => undefined);
  const merged = applyEnvOverrides(structuredClone(raw), env, issues, onFile);
  const resolved = resolveSecretRefs(merged, [], env, issues, onFile);

  const result = configSchema.safeParse(resolved, { reportInput: false });
  if (!result.success) {
    // A secret that could not be resolved is already reported; don't report its emptiness again.
    const reported = new Set(issues.map((issue) => issue.path));
    issues.push(...describeIssues(result.error.issues, resolved, configSchema).filter((issue) => !reported.has(issue.path)));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(result.data!);
}

/** Reads `NAME`, or the file named by `NAME_FILE`. */
function readEnvSecret(env: NodeJS.ProcessEnv, name: string, issues: ConfigIssue[], onFile: (path: string) => void): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  return readSecretFile(file, `env.${name}_FILE`, issues, onFile);
}

/** A secret file's text without its trailing newline; undefined (and an issue at `path`) when unreadable. */
function readSecretFile(file: string, path: string, issues: ConfigIssue[], onFile: (path: string) => void): string | undefined {
  onFile(file);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    issues.push({ path, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
    return undefined;
  }
}

/**
 * Environment overrides for everything secret:
 * - TOKENGATE_ENCRYPTION_KEYS = `kid:key[,kid:key...]` (first seals)
 * - TOKENGATE_COOKIE_KEYS = `key[,key...]` (first signs)
 * - TOKENGATE_PROVIDER_<ID>_CLIENT_SECRET (ID upper-cased, `-` as `_`)
 * - TOKENGATE_REDIS_URL, TOKENGATE_REDIS_PASSWORD
 * - TOKENGATE_FORWARD_AUTH_SECRET
 * Each may instead be given as `<NAME>_FILE`, a path to read.
 */
function applyEnvOverrides(raw: Raw, env: NodeJS.ProcessEnv, issues: ConfigIssue[], onFile: (path: string) => void): Raw {
  const keys = (raw.keys = isObject(raw.keys) ? raw.keys : {}) as Raw;

  const encryption = readEnvSecret(env, 'TOKENGATE_ENCRYPTION_KEYS', issues, onFile);
  if (encryption !== undefined) {
    keys.encryption = splitList(encryption).map((entry, index) => {
      const colon = entry.indexOf(':');
      if (colon <= 0) {
        issues.push({ path: `env.TOKENGATE_ENCRYPTION_KEYS[${index}]`, message: 'expected kid:key' });
        return { kid: '', key: '' };
      }
      return { kid: entry.slice(0, colon), key: entry.slice(colon + 1) };
    });
  }
  const cookie = readEnvSecret(env, 'TOKENGATE_COOKIE_KEYS', issues, onFile);
  if (cookie !== undefined) keys.cookie = splitList(cookie);
  if (Object.keys(keys).length === 0) delete raw.keys;

  if (Array.isArray(raw.providers)) {
    for (const provider of raw.providers) {
      if (!isObject(provider) || typeof provider.id !== 'string') continue;
      const value = readEnvSecret(env, providerSecretVariable(provider.id), issues, onFile);
      if (value !== undefined) provider.clientSecret = value;
    }
  }

  const redisUrl = readEnvSecret(env, 'TOKENGATE_REDIS_URL', issues, onFile);
  const redisPassword = readEnvSecret(env, 'TOKENGATE_REDIS_PASSWORD', issues, onFile);
  if (redisUrl !== undefined || redisPassword !== undefined) {
    const store = (raw.store = isObject(raw.store) ? raw.store : { type: 'redis' }) as Raw;
    const redis = (store.redis = isObject(store.redis) ? store.redis : {}) as Raw;
    if (redisUrl !== undefined) {
      store.type = 'redis';
      redis.url = redisUrl;
    }
    if (redisPassword !== undefined) redis.password = redisPassword;
  }

  const forwardSecret = readEnvSecret(env, 'TOKENGATE_FORWARD_AUTH_SECRET', issues, onFile);
  if (forwardSecret !== undefined) {
    const forwardAuth = (raw.forwardAuth = isObject(raw.forwardAuth) ? raw.forwardAuth : {}) as Raw;
    forwardAuth.sharedSecret = forwardSecret;
  }
  return raw;
}

/** Replaces `{ env: NAME }` and `{ file: PATH }` leaves with the string they name. */
function resolveSecretRefs(value: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, issues: ConfigIssue[], onFile: (path: string) => void): unknown {
  if (Array.isArray(value)) return value.map((item, index) => resolveSecretRefs(item, [...path, index], env, issues, onFile));
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && typeof value.env === 'string') {
    const found = env[value.env];
    if (found === undefined || found === '') issues.push({ path: path.join('.'), message: `environment variable ${value.env} is not set` });
    return found ?? '';
  }
  if (keys.length === 1 && typeof value.file === 'string') return readSecretFile(value.file, path.join('.'), issues, onFile) ?? '';
  const out: Raw = {};
  for (const key of keys) out[key] = resolveSecretRefs(value[key], [...path, key], env, issues, onFile);
  return out;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
