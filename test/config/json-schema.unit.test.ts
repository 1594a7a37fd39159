import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { schemaFileText } from '../../scripts/schema.ts';
import { loadConfig } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { ConfigError } from '../../src/errors.ts';
import { allManifests, DEPLOY_DIR } from '../deploy/manifests.ts';

/**
 * config/tokengate.schema.json: generated from the zod schema, checked by a real JSON Schema
 * validator (ajv, draft 2020-12, strict) against the example files, and against the loader
 * itself on files it accepts and files it refuses for their shape.
 */

const CONFIG_DIR = new URL('../../config/', import.meta.url).pathname;
const SCHEMA_TEXT = readFileSync(join(CONFIG_DIR, 'tokengate.schema.json'), 'utf8');
const MODELINE = '# yaml-language-server: $schema=./tokengate.schema.json';

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(JSON.parse(SCHEMA_TEXT));

function schemaErrors(value: unknown): string[] {
  return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

const dir = mkdtempSync(join(tmpdir(), 'tokengate-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, 'debug\n');

const env = {
  TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`,
  TOKENGATE_COOKIE_KEYS: generateKey(),
  CLIENT_SECRET: 's3cret',
  PROVIDER_TYPE: 'oidc',
  PUBLIC_ORIGIN: 'https://app.example.com',
  PORT: '8080',
  IDLE: '45m',
  PROMPT: 'consent',
  TOKENGATE_PROVIDER_CORP_CLIENT_SECRET: 's3cret',
  TOKENGATE_REDIS_URL: 'redis://127.0.0.1:6379/0',
};

const base = {
  publicOrigin: 'https://app.example.com',
  providers: [{ id: 'corp', type: 'oidc', issuer: 'https://login.example.com', clientId: 'tg', clientSecret: { env: 'CLIENT_SECRET' } }],
  routes: [{ prefix: '/api', upstream: 'http://127.0.0.1:3000' }],
};

function loaderAccepts(value: unknown, extraEnv: Record<string, string> = {}): boolean {
  try {
    loadConfig({ object: value, env: { ...env, ...extraEnv } });
    return true;
  } catch (err) {
    if (err instanceof ConfigError) return false;
    throw err;
  }
}

describe('config/tokengate.schema.json', () => {
  it('is what `npm run schema` generates from the zod schema today', () => {
    // On failure: run `npm run schema` and commit config/tokengate.schema.json.
    expect(SCHEMA_TEXT).toBe(schemaFileText());
  });

  it('every config/*.yaml names it on its first line and is valid against it', () => {
    const files = readdirSync(CONFIG_DIR).filter((name) => name.endsWith('.yaml'));
    expect(files.sort()).toEqual(['dev.yaml', 'gateway.example.yaml']);
    for (const file of files) {
      const text = readFileSync(join(CONFIG_DIR, file), 'utf8');
      expect(text.split('\n')[0], file).toBe(MODELINE);
      expect(schemaErrors(parse(text)), file).toEqual([]);
      // and the loader agrees, given every variable the file names (a key is a valid secret)
      const named = Object.fromEntries([...text.matchAll(/\{ env: (\w+) \}/g)].map((match) => [match[1]!, generateKey()]));
      expect(loaderAccepts(parse(text), named), file).toBe(true);
    }
  });

  it('the gateway configs under deploy/ are valid against it (compose file and Kubernetes ConfigMaps)', () => {
    const compose = readFileSync(join(DEPLOY_DIR, 'compose', 'gateway.yaml'), 'utf8');
    expect(compose.split('\n')[0]).toBe('# yaml-language-server: $schema=../../config/tokengate.schema.json');
    expect(schemaErrors(parse(compose))).toEqual([]);
    const embedded = allManifests().filter((manifest) => manifest.kind === 'ConfigMap' && typeof (manifest['data'] as Record<string, unknown> | undefined)?.['gateway.yaml'] === 'string');
    expect(embedded.length).toBeGreaterThanOrEqual(2);
    for (const configMap of embedded) {
      expect(schemaErrors(parse((configMap['data'] as Record<string, string>)['gateway.yaml']!)), configMap.file).toEqual([]);
    }
  });
});

describe('the JSON Schema accepts what the loader accepts', () => {
  const accepted: Array<[string, Record<string, unknown>]> = [
    ['keys and the client secret left to TOKENGATE_* variables', { ...base, providers: [{ ...base.providers[0], clientSecret: undefined }] }],
    ['durations as seconds, with decimals, and padded', { ...base, session: { idleTimeout: 90, absoluteTimeout: '1.5h', loginTimeout: ' 5m ' }, tokens: { refreshBuffer: '250ms' } }],
    ['any string as { env } or { file }', { ...base, publicOrigin: { env: 'PUBLIC_ORIGIN' }, logging: { level: { file: secretFile } } }],
    ['a duration from { env }', { ...base, session: { idleTimeout: { env: 'IDLE' } } }],
    ['an authorization parameter from { env }', { ...base, providers: [{ ...base.providers[0], authorizationParams: { prompt: { env: 'PROMPT' } } }] }],
    ['a provider type from { env }', { ...base, providers: [{ ...base.providers[0], type: { env: 'PROVIDER_TYPE' } }] }],
    ['store.type redis with the URL from TOKENGATE_REDIS_URL', { ...base, store: { type: 'redis' } }],
  ];

  it.each(accepted)('%s', (_name, file) => {
    // As YAML would give it: no undefined values.
    const value = JSON.parse(JSON.stringify(file)) as Record<string, unknown>;
    expect(loaderAccepts(value)).toBe(true);
    expect(schemaErrors(value)).toEqual([]);
  });
});

describe('the JSON Schema refuses what the loader refuses for its shape', () => {
  const refused: Array<[string, Record<string, unknown>]> = [
    ['a duration in words', { ...base, session: { idleTimeout: '5 minutes' } }],
    ['a negative duration', { ...base, session: { idleTimeout: -5 } }],
    ['a port from { env } (it resolves to a string)', { ...base, listen: { port: { env: 'PORT' } } }],
    ['a list from { env }', { ...base, providers: [{ ...base.providers[0], scopes: { env: 'PROMPT' } }] }],
    ['a mapping of names given as { env }', { ...base, providers: [{ ...base.providers[0], authorizationParams: { env: 'PROMPT' } }] }],
    ['a reference with both env and file', { ...base, providers: [{ ...base.providers[0], name: { env: 'CLIENT_SECRET', file: secretFile } }] }],
    ['an unknown option', { ...base, sessions: {} }],
    ['an upstream that is not http(s)', { ...base, routes: [{ prefix: '/api', upstream: 'ftp://127.0.0.1/' }] }],
    ['a route prefix without a leading slash', { ...base, routes: [{ prefix: 'api', upstream: 'http://127.0.0.1:3000' }] }],
    ['an unknown provider type', { ...base, providers: [{ ...base.providers[0], type: 'saml' }] }],
    ['no providers', { ...base, providers: [] }],
    ['a port out of range', { ...base, ops: { port: 70000 } }],
  ];

  it.each(refused)('%s', (_name, file) => {
    expect(loaderAccepts(file)).toBe(false);
    expect(schemaErrors(file)).not.toEqual([]);
  });
});
