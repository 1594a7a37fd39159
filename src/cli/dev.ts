import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { loadConfig, providerSecretVariable, type Config } from '../config/index.ts';
import { generateKey } from '../crypto/keyring.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../observability/index.ts';
import { ExitCode, type Command, type CommandIo } from './commands.ts';
import { describeUris, providerUris } from './registration.ts';
import { parseWorkersFlag, serveWithWorkers, workerCount, WORKERS_OPTION } from './workers.ts';

/**
 * `tokengate dev`: the local development proxy. Everything on http://localhost:<port> goes to
 * `--upstream` (the app's dev server), with the user's bearer token once logged in. The memory
 * store unless `--redis`; ephemeral keys (with a warning) unless TOKENGATE_ENCRYPTION_KEYS and
 * TOKENGATE_COOKIE_KEYS are set; readable logs; plain HTTP, which the config accepts on
 * loopback only. One process unless `--workers N` (which needs `--redis`).
 */

const PROVIDER_TYPES = ['github', 'google', 'discord'] as const;
type NamedProvider = (typeof PROVIDER_TYPES)[number];

const OPTIONS = {
  upstream: { type: 'string' },
  issuer: { type: 'string' },
  provider: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  scopes: { type: 'string' },
  port: { type: 'string' },
  redis: { type: 'string' },
  auth: { type: 'string' },
  'log-level': { type: 'string' },
  workers: WORKERS_OPTION,
  help: { type: 'boolean', short: 'h' },
} as const;

type DevValues = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true }>>['values'];

export const devCommand: Command = {
  name: 'dev',
  summary: 'local development proxy in front of your dev server (memory store, plain http on localhost)',
  usage: `Usage: tokengate dev --upstream URL --issuer URL --client-id ID [--client-secret SECRET] [options]
       tokengate dev --upstream URL --provider github|google|discord --client-id ID [--client-secret SECRET] [options]

Serves http://localhost:PORT: /auth/login, /auth/callback/<provider>, /auth/session and
/auth/logout, and forwards everything else to --upstream with the user's
Authorization: Bearer token once logged in. Register the printed redirect URI with
the provider.

Options:
  --upstream URL        your app's dev server, e.g. http://localhost:5173
  --issuer URL          an OpenID Connect provider (found by discovery); provider id "dev"
  --provider NAME       github, google or discord instead of --issuer
  --client-id ID        the OAuth client id
  --client-secret S     the client secret; or set TOKENGATE_PROVIDER_<ID>_CLIENT_SECRET
                        (ID: DEV, GITHUB, GOOGLE or DISCORD), which keeps it out of ps
  --scopes "a b"        scopes to ask for (default: the provider's)
  --port N              port on 127.0.0.1 (default 8080)
  --redis URL           keep sessions in Redis instead of memory
  --auth MODE           optional (default: anonymous requests pass without a token)
                        or required (401 without a session)
  --log-level LEVEL     fatal, error, warn, info (default), debug or trace
  --workers N           processes (node:cluster; default 1); more than 1 needs --redis

Keys are generated at start (sessions end when dev stops) unless TOKENGATE_ENCRYPTION_KEYS
and TOKENGATE_COOKIE_KEYS are set.

Ctrl-C drains in-flight requests first (up to 25 s); a second Ctrl-C stops at once.

Exit codes: 0 after Ctrl-C, 1 invalid settings, 2 wrong usage, 3 cannot listen or reach Redis.`,
  async run(args, io) {
    const { values } = parseArgs({ args, options: OPTIONS, strict: true });
    if (values.help) {
      io.out(this.usage);
      return ExitCode.ok;
    }
    const problem = usageProblem(values);
    if (problem !== undefined) {
      io.err(`tokengate dev: ${problem}\n\n${this.usage}`);
      return ExitCode.usage;
    }
    const flag = parseWorkersFlag(values.workers);
    if (typeof flag === 'object') {
      io.err(`tokengate dev: ${flag.problem}\n\n${this.usage}`);
      return ExitCode.usage;
    }
    const ephemeralKeys = !io.env['TOKENGATE_ENCRYPTION_KEYS'] && !io.env['TOKENGATE_ENCRYPTION_KEYS_FILE'];
    let config: Config;
    try {
      config = loadConfig({ object: devConfig(values, ephemeralKeys), env: io.env });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.err(`tokengate dev: invalid options:\n${err.issues.map((issue) => `  - ${devIssue(issue.path, issue.message, values.provider ?? 'dev')}`).join('\n')}`);
      return ExitCode.configInvalid;
    }
    const count = workerCount(config, flag, false);
    if ('problem' in count) {
      io.err(`tokengate dev: ${count.problem} (--redis URL)`);
      return ExitCode.configInvalid;
    }

    const logger = createLogger(config.logging);
    if (ephemeralKeys) {
      logger.warn({ event: 'ephemeral_keys' }, 'ephemeral keys: generated at start, so every session ends when dev stops (set TOKENGATE_ENCRYPTION_KEYS and TOKENGATE_COOKIE_KEYS to keep them)');
    }
    return serveWithWorkers(config, io, {
      workers: count.workers,
      logger,
      // Workers re-run this command: they must seal and sign with the keys generated here.
      ...(ephemeralKeys && cluster.isPrimary ? { workerEnv: keysEnv(config) } : {}),
      onReady: (ready) => printWelcome(io, config, ready.ops),
    });
  },
};

/** The keys of `config` as the TOKENGATE_* variables the config loader reads. */
function keysEnv(config: Config): NodeJS.ProcessEnv {
  return {
    TOKENGATE_ENCRYPTION_KEYS: config.keys.encryption.map((entry) => `${entry.kid}:${entry.key}`).join(','),
    TOKENGATE_COOKIE_KEYS: config.keys.cookie.join(','),
  };
}

function usageProblem(values: DevValues): string | undefined {
  if (values.upstream === undefined) return '--upstream URL is required';
  if ((values.issuer === undefined) === (values.provider === undefined)) return 'give either --issuer URL or --provider github|google|discord';
  if (values.provider !== undefined && !PROVIDER_TYPES.includes(values.provider as NamedProvider)) return '--provider must be github, google or discord';
  if (values['client-id'] === undefined) return '--client-id is required';
  if (values.port !== undefined && !/^\d{1,5}$/.test(values.port)) return '--port must be a number';
  if (values.auth !== undefined && values.auth !== 'optional' && values.auth !== 'required') return '--auth must be optional or required';
  return undefined;
}

/** Where each flag lands in devConfig; an issue at one of these paths names the flag instead. */
const FLAG_OF_PATH: Record<string, string> = {
  'routes.0.upstream': '--upstream',
  'routes.0.auth': '--auth',
  'providers.0.issuer': '--issuer',
  'providers.0.clientId': '--client-id',
  'providers.0.clientSecret': '--client-secret',
  'providers.0.scopes': '--scopes',
  'store.redis.url': '--redis',
  'listen.port': '--port',
  publicOrigin: '--port',
  'logging.level': '--log-level',
};

/** A config issue in `dev`'s terms: the flag (or environment variable) instead of the config path. */
function devIssue(path: string, message: string, providerId: string): string {
  const flag = FLAG_OF_PATH[path] ?? Object.entries(FLAG_OF_PATH).find(([prefix]) => path.startsWith(`${prefix}.`))?.[1];
  if (flag === '--client-secret' && message.startsWith('required')) {
    const variable = providerSecretVariable(providerId);
    return `--client-secret: required: give --client-secret, or set ${variable} (or ${variable}_FILE, a file holding it)`;
  }
  return flag === undefined ? `${path}: ${message}` : `${flag}: ${message}`;
}

/** The configuration `dev` runs with; the schema still validates every value. */
export function devConfig(values: DevValues, ephemeralKeys: boolean): Record<string, unknown> {
  const port = values.port === undefined ? 8080 : Number(values.port);
  const provider: Record<string, unknown> =
    values.issuer !== undefined
      ? { id: 'dev', type: 'oidc', issuer: values.issuer }
      : { id: values.provider, type: values.provider };
  provider['clientId'] = values['client-id'];
  if (values['client-secret'] !== undefined) provider['clientSecret'] = values['client-secret'];
  if (values.scopes !== undefined) provider['scopes'] = values.scopes.split(/[\s,]+/).filter(Boolean);

  return {
    publicOrigin: `http://localhost:${port}`,
    listen: { host: '127.0.0.1', port },
    ops: { host: '127.0.0.1', port: 0 },
    ...(ephemeralKeys ? { keys: { encryption: [{ kid: 'dev', key: generateKey() }], cookie: [generateKey()] } } : {}),
    store: values.redis === undefined ? { type: 'memory' } : { type: 'redis', redis: { url: values.redis } },
    providers: [provider],
    // The app's dev server serves pages, scripts and styles on this one route, and <script>/<link>
    // tags cannot send the CSRF header: state-changing methods still need it.
    routes: [{ prefix: '/', upstream: values.upstream, auth: values.auth ?? 'optional', csrf: 'unsafe', page: true }],
    logging: { level: values['log-level'] ?? 'info', pretty: true },
    // No load balancer to wait for: Ctrl-C stops accepting at once.
    shutdown: { drainDelay: 0 },
  };
}

function printWelcome(io: CommandIo, config: Config, opsUrl: string): void {
  const provider = config.providers[0]!;
  io.out(
    [
      '',
      `Tokengate dev proxy for ${config.routes[0]!.upstream}`,
      '',
      `  Open          ${config.publicOrigin}/`,
      `  Log in        ${config.publicOrigin}/auth/login`,
      `  Store         ${config.store.type}`,
      `  Health        ${opsUrl}/healthz`,
      '',
      `Register with the provider (${provider.id}):`,
      ...describeUris(providerUris(config, provider)),
      '',
      'Plain HTTP on localhost, for development only. Ctrl-C stops.',
      '',
    ].join('\n'),
  );
}
