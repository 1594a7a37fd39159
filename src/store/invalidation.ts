import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/schema.ts';
import { sanitizedCause, withDeadline } from './failure.ts';
import { reconnectDelay, subscriberOptions } from './redis-client.ts';

/**
 * The near cache's subscription to invalidations: dedicated Redis connections per replica,
 * SUBSCRIBEd to `<keyPrefix>inv`, where every write of a session's keys PUBLISHes the sid (inside
 * the same Lua script as the write, so no write goes unannounced; see redis-scripts.ts).
 *
 * Where it subscribes: standalone, the server; Sentinel, the master Sentinel names; Cluster,
 * every master (from CLUSTER NODES on a seed node). A PUBLISH reaches the subscribers of every
 * Cluster node over the cluster bus, but only a bit later than those of the node that ran the
 * script; subscribed to every master, a replica hears each write as early as on one server, so
 * the next request after a logout has returned is refused on any replica.
 *
 * `live` is true only while every subscription is confirmed. Any sign of trouble (a connection
 * closing: CLIENT KILL, network, failover; a heartbeat PING unanswered within the command
 * timeout) calls `onLost` at once (the cache flushes and reads through), drops every connection
 * and starts over with backoff: discovery, connections, SUBSCRIBEs; `live` again only when all
 * are confirmed.
 */

export interface InvalidationOptions {
  config: RedisConfig;
  channel: string;
  onInvalidate(sid: string): void;
  onLost(): void;
  onConnectionError?: ((err: Error) => void) | undefined;
  /** How often the subscriptions are checked with a PING. Default 2 s. */
  heartbeatMs?: number;
}

export class InvalidationListener {
  readonly #options: InvalidationOptions;
  readonly #heartbeat: NodeJS.Timeout;
  #clients: Redis[] = [];
  /** Bumped at every start over: events of an older round's connections are ignored. */
  #round = 0;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  #live = false;
  #closed = false;
  #pinging = false;

  constructor(options: InvalidationOptions) {
    this.#options = options;
    this.#heartbeat = setInterval(() => this.#checkHeartbeat(), options.heartbeatMs ?? 2000);
    this.#heartbeat.unref();
    void this.#start();
  }

  /** True while invalidations are known to arrive: only then may the cache answer or fill. */
  get live(): boolean {
    return this.#live;
  }

  /** Resolves once the subscriptions are confirmed (or rejects after `timeoutMs`). For startup and tests. */
  async whenLive(timeoutMs: number): Promise<void> {
    const started = performance.now();
    while (!this.#live) {
      if (this.#closed) throw new Error('the invalidation listener is closed');
      if (performance.now() - started > timeoutMs) throw new Error(`no invalidation subscription within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#retry);
    this.#drop();
  }

  async #start(): Promise<void> {
    const round = ++this.#round;
    try {
      const targets = await this.#targets();
      if (round !== this.#round || this.#closed) return;
      this.#clients = targets.map((target) => this.#connect(target, round));
      await Promise.all(this.#clients.map((client) => this.#subscribe(client)));
      if (round !== this.#round || this.#closed) return;
      this.#live = true;
      this.#failures = 0;
    } catch (err) {
      if (round !== this.#round || this.#closed) return;
      this.#options.onConnectionError?.(sanitizedCause(err));
      this.#startOver();
    }
  }

  /** Flush now, drop every connection, and start again after a backoff. */
  #startOver(): void {
    if (this.#closed) return;
    this.#drop();
    this.#failures += 1;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#start(), reconnectDelay(this.#failures));
    this.#retry.unref();
  }

  #drop(): void {
    this.#round += 1;
    this.#live = false;
    this.#options.onLost();
    for (const client of this.#clients) client.disconnect();
    this.#clients = [];
  }

  /** The connection options of every server to subscribe on. */
  async #targets(): Promise<RedisOptions[]> {
    const { config } = this.#options;
    const base = subscriberOptions(config);
    if (config.cluster) return (await clusterMasters(config, base)).map((node) => ({ ...base, ...node }));
    if (config.sentinel) {
      const { sentinels, name, sentinelPassword } = config.sentinel;
      return [{ ...base, sentinels, name, ...(sentinelPassword === undefined ? {} : { sentinelPassword }), sentinelCommandTimeout: config.commandTimeout, enableTLSForSentinelMode: config.tls }];
    }
    const url = new URL(config.url!);
    // As `new Redis(url, options)` does for the main client: what config says wins over the URL.
    return [{ ...credentials(url), ...base, host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0) }];
  }

  #connect(target: RedisOptions, round: number): Redis {
    const client = new Redis({ ...target, lazyConnect: true, retryStrategy: () => null, sentinelRetryStrategy: () => null });
    client.on('error', (err: unknown) => this.#options.onConnectionError?.(sanitizedCause(err)));
    client.on('message', (channel: string, message: string) => {
      if (channel === this.#options.channel && round === this.#round) this.#options.onInvalidate(message);
    });
    client.on('close', () => {
      if (round === this.#round) this.#startOver();
    });
    return client;
  }

  async #subscribe(client: Redis): Promise<void> {
    await withDeadline(client.connect(), this.#options.config.connectTimeout);
    await withDeadline(client.subscribe(this.#options.channel), this.#options.config.commandTimeout);
  }

  #checkHeartbeat(): void {
    if (!this.#live || this.#pinging) return;
    this.#pinging = true;
    const round = this.#round;
    Promise.all(this.#clients.map((client) => withDeadline(client.ping(), this.#options.config.commandTimeout)))
      .catch(() => {
        // Unanswered: invalidations may be lost too.
        if (round === this.#round) this.#startOver();
      })
      .finally(() => {
        this.#pinging = false;
      });
  }
}

/** The masters of a Cluster, from CLUSTER NODES on the first seed node that answers. */
async function clusterMasters(config: RedisConfig, base: RedisOptions): Promise<{ host: string; port: number }[]> {
  let lastError: unknown = new Error('no cluster seed node');
  for (const seed of config.cluster!.nodes) {
    const probe = new Redis({ ...base, host: seed.host, port: seed.port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await withDeadline(probe.connect(), config.connectTimeout);
      const text = (await withDeadline(probe.call('CLUSTER', 'NODES'), config.commandTimeout)) as string;
      const masters = parseMasters(text, seed.host);
      if (masters.length > 0) return masters;
      lastError = new Error('CLUSTER NODES named no master');
    } catch (err) {
      lastError = err;
    } finally {
      probe.disconnect();
    }
  }
  throw lastError;
}

/** `<id> <ip:port@cport[,hostname]> <flags> ...` lines → masters that are not failing. An empty ip means the seed's own host. */
export function parseMasters(text: string, seedHost: string): { host: string; port: number }[] {
  const masters: { host: string; port: number }[] = [];
  for (const line of text.split('\n')) {
    const [, address, flags] = line.trim().split(' ');
    if (address === undefined || flags === undefined) continue;
    const flagSet = new Set(flags.split(','));
    if (!flagSet.has('master') || flagSet.has('fail') || flagSet.has('fail?') || flagSet.has('noaddr')) continue;
    const hostPort = address.split('@')[0]!;
    const colon = hostPort.lastIndexOf(':');
    const port = Number(hostPort.slice(colon + 1));
    if (!Number.isInteger(port) || port <= 0) continue;
    masters.push({ host: hostPort.slice(0, colon) || seedHost, port });
  }
  return masters;
}

function credentials(url: URL): RedisOptions {
  const options: RedisOptions = {};
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  return options;
}
