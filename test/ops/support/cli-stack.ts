import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSampleApi, type SampleApiHandle } from '../../../demo/api.ts';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle } from '../../../demo/op.ts';
import { generateKey } from '../../../src/crypto/keyring.ts';
import { logLine, startCli, type RunningCli } from '../../cli/run-cli.ts';
import { loginThroughGateway, type LoginResult } from '../../support/login.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { freePort } from '../../support/ports.ts';
import { waitFor } from '../../support/wait.ts';

/**
 * `tokengate start` (or `dev`) as operators run it: a child process `node src/cli.ts ...` with
 * a config file, in front of the real demo OpenID Provider and the sample API (which introspects
 * every bearer), optionally on a real redis-server. Every line the process prints is kept.
 */

export interface CliStackOptions {
  store?: 'memory' | 'redis';
  /** Seconds; default 3600. */
  accessTokenTtl?: number;
  /** `shutdown.grace`; default '10s'. */
  grace?: string;
  /** `shutdown.drainDelay`; default the configured default. */
  drainDelay?: string;
  /** Start the gateway in its own process group (see `signalGroup`). */
  detached?: boolean;
  /** The redis-server keeps its data across kill + restart (append-only file). */
  redisPersist?: boolean;
  /** A whole `store:` line instead of the one `store` picks (Sentinel, Cluster). */
  storeConfig?: string;
  /** Extra config lines (YAML, top level). */
  extraConfig?: string;
  /** Extra route entries (YAML flow mappings, e.g. `{ prefix: /ws, upstream: http://... }`) after /api. */
  extraRoutes?: string[];
  /** Extra arguments after `start --config FILE`. */
  args?: string[];
  /** Extra environment for the gateway (e.g. `TOKENGATE_ENCRYPTION_KEYS: ''` with `TOKENGATE_ENCRYPTION_KEYS_FILE`). */
  env?: Record<string, string>;
}

export interface CliStack {
  op: OpenIdProviderHandle;
  api: SampleApiHandle;
  redis: RedisServer | undefined;
  publicOrigin: string;
  opsUrl: string;
  mainPort: number;
  configFile: string;
  env: Record<string, string>;
  /** Starts the gateway and waits for its 'listening' line. */
  start(): Promise<RunningCli>;
  /**
   * Starts one more gateway process from the same config, the same keys and the same store (a
   * replica behind a load balancer): only its listen and ops ports differ; publicOrigin stays the
   * first one's. Stopped by `close()`.
   */
  startReplica(): Promise<{ cli: RunningCli; url: string }>;
  cli(): RunningCli;
  /** Every JSON line the gateway printed so far. */
  logLines(): Array<Record<string, unknown>>;
  login(): Promise<LoginResult>;
  close(): Promise<void>;
}

export async function startCliStack(options: CliStackOptions = {}): Promise<CliStack> {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-ops-'));
  const mainPort = await freePort();
  const opsPort = await freePort();
  const publicOrigin = `http://127.0.0.1:${mainPort}`;
  const clientSecret = generateKey();
  const cleanups: Array<() => Promise<void>> = [async () => rmSync(dir, { recursive: true, force: true })];
  let running: RunningCli | undefined;
  const replicas: RunningCli[] = [];
  const close = async () => {
    for (const replica of replicas) await replica.stop('SIGKILL').catch(() => undefined);
    if (running) {
      // A detached gateway leads its own process group: end its workers too.
      if (options.detached && running.child.exitCode === null && running.child.signalCode === null) {
        try {
          process.kill(-running.child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await running.stop('SIGKILL').catch(() => undefined);
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const op = await startOpenIdProvider({
      accessTokenTtl: options.accessTokenTtl ?? 3600,
      clients: [{ clientId: 'tg', clientSecret, redirectUris: [`${publicOrigin}/auth/callback/op`] }],
    });
    cleanups.push(() => op.close());
    const api = await startSampleApi({ introspect: (token) => op.introspect(token) });
    cleanups.push(() => api.close());
    let redis: RedisServer | undefined;
    if (options.store === 'redis') {
      const started = await startRedisServer({ persist: options.redisPersist ?? false });
      redis = started;
      cleanups.push(() => started.stop());
    }
    const store = options.storeConfig ?? (redis ? `store: { type: redis, redis: { url: "${redis.url}/0" } }` : 'store: { type: memory }');
    const configText = (listenPort: number, opsListenPort: number) => `publicOrigin: ${publicOrigin}
listen: { host: 127.0.0.1, port: ${listenPort} }
ops: { host: 127.0.0.1, port: ${opsListenPort} }
${store}
providers:
  - { id: op, type: oidc, issuer: ${op.issuer}, clientId: tg, timeout: 5s }
routes:
  - { prefix: /api, upstream: ${api.url}, stripPrefix: true }
${(options.extraRoutes ?? []).map((route) => `  - ${route}\n`).join('')}shutdown: { grace: ${options.grace ?? '10s'}${options.drainDelay === undefined ? '' : `, drainDelay: ${options.drainDelay}`} }
logging: { level: info }
${options.extraConfig ?? ''}
`;
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(configFile, configText(mainPort, opsPort));
    const env = {
      TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`,
      TOKENGATE_COOKIE_KEYS: generateKey(),
      TOKENGATE_PROVIDER_OP_CLIENT_SECRET: clientSecret,
      ...options.env,
    };
    const cli = () => {
      if (running === undefined) throw new Error('not started');
      return running;
    };
    return {
      op,
      api,
      redis,
      publicOrigin,
      opsUrl: `http://127.0.0.1:${opsPort}`,
      mainPort,
      configFile,
      env,
      async start() {
        running = startCli(['start', '--config', configFile, ...(options.args ?? [])], { env, detached: options.detached ?? false });
        await running.waitFor(/"event":"listening"/);
        return running;
      },
      async startReplica() {
        // Its ports are in no URL registered elsewhere: port 0, read back from its listening line.
        const replicaConfig = join(dir, `gateway-replica-${replicas.length + 1}.yaml`);
        writeFileSync(replicaConfig, configText(0, 0));
        const replica = startCli(['start', '--config', replicaConfig, ...(options.args ?? [])], { env, detached: false });
        replicas.push(replica);
        await replica.waitFor(/"event":"listening"/);
        return { cli: replica, url: String(logLine(replica, 'listening')?.['main']) };
      },
      cli,
      logLines: () => jsonLines(cli().output().stdout),
      login: () => loginThroughGateway(`${publicOrigin}/auth/login?provider=op&returnTo=/`, { username: DEMO_USER.username, password: DEMO_USER.password }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Opens a fresh TCP connection and sends one GET; resolves with the status or rejects with the socket error (ECONNREFUSED). */
export function freshGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Waits until /readyz answers `status`. */
export async function readyzBecomes(opsUrl: string, status: number, timeoutMs = 5_000): Promise<{ status: string; failing?: string[] }> {
  let last: { status: string; failing?: string[] } = { status: 'unknown' };
  await waitFor(
    `/readyz ${status}`,
    async () => {
      const res = await freshGet(`${opsUrl}/readyz`);
      last = JSON.parse(res.body) as typeof last;
      return res.status === status;
    },
    timeoutMs,
  );
  return last;
}
