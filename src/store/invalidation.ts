import { Redis } from 'ioredis';
import type { RedisConfig } from '../config/schema.ts';
import { sanitizedCause, withDeadline } from './failure.ts';
import { reconnectDelay, subscriberOptions } from './redis-client.ts';

/**
 * The near cache's subscription to invalidations: one dedicated Redis connection per replica,
 * SUBSCRIBEd to `<keyPrefix>inv`, where every write of a session's keys PUBLISHes the sid (inside
 * the same Lua script as the write, so no write goes unannounced; see redis-scripts.ts).
 *
 * `live` is true only between a confirmed SUBSCRIBE and the next sign of trouble: the connection
 * closing (CLIENT KILL, network, failover), or a heartbeat PING unanswered within the command
 * timeout. Losing it calls `onLost` at once (the cache flushes and reads through) and reconnects;
 * `live` comes back only when the new SUBSCRIBE is confirmed.
 *
 * Cluster: a PUBLISH reaches the subscribers of every node (the cluster bus carries it), so one
 * plain connection to any node is enough; when a node stops answering, the next seed node is
 * tried. Sentinel: ioredis follows the master.
 */

export interface InvalidationOptions {
  config: RedisConfig;
  channel: string;
  onInvalidate(sid: string): void;
  onLost(): void;
  onConnectionError?: ((err: Error) => void) | undefined;
  /** How often the subscription is checked with a PING. Default 2 s. */
  heartbeatMs?: number;
}

/** Failed reconnects to one cluster seed node before the next one is tried. */
const CLUSTER_NODE_ATTEMPTS = 3;

export class InvalidationListener {
  readonly #options: InvalidationOptions;
  readonly #heartbeat: NodeJS.Timeout;
  #client: Redis;
  #nodeIndex = 0;
  #live = false;
  #closed = false;
  #pinging = false;

  constructor(options: InvalidationOptions) {
    this.#options = options;
    this.#client = this.#connect();
    this.#heartbeat = setInterval(() => this.#checkHeartbeat(), options.heartbeatMs ?? 2000);
    this.#heartbeat.unref();
  }

  /** True while invalidations are known to arrive: only then may the cache answer or fill. */
  get live(): boolean {
    return this.#live;
  }

  /** Resolves once the subscription is confirmed (or rejects after `timeoutMs`). For startup and tests. */
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
    this.#lose();
    this.#client.disconnect();
  }

  #connect(): Redis {
    const { config } = this.#options;
    const cluster = config.cluster;
    const options = subscriberOptions(config);
    let client: Redis;
    if (cluster) {
      const node = cluster.nodes[this.#nodeIndex % cluster.nodes.length]!;
      client = new Redis({ ...options, host: node.host, port: node.port, retryStrategy: (times) => (times > CLUSTER_NODE_ATTEMPTS ? null : reconnectDelay(times)) });
    } else if (config.sentinel) {
      client = new Redis({
        ...options,
        retryStrategy: reconnectDelay,
        sentinels: config.sentinel.sentinels,
        name: config.sentinel.name,
        ...(config.sentinel.sentinelPassword === undefined ? {} : { sentinelPassword: config.sentinel.sentinelPassword }),
        sentinelRetryStrategy: reconnectDelay,
        sentinelCommandTimeout: config.commandTimeout,
        enableTLSForSentinelMode: config.tls,
      });
    } else {
      client = new Redis(config.url!, { ...options, retryStrategy: reconnectDelay });
    }
    client.on('error', (err: unknown) => this.#options.onConnectionError?.(sanitizedCause(err)));
    client.on('message', (channel: string, message: string) => {
      if (channel === this.#options.channel && client === this.#client) this.#options.onInvalidate(message);
    });
    client.on('ready', () => this.#subscribe(client));
    client.on('close', () => {
      if (client === this.#client) this.#lose();
    });
    client.on('end', () => {
      // Only a cluster seed node gives up (retryStrategy null): go on with the next one.
      if (client !== this.#client || this.#closed) return;
      this.#nodeIndex += 1;
      this.#client = this.#connect();
    });
    return client;
  }

  #subscribe(client: Redis): void {
    client.subscribe(this.#options.channel).then(
      () => {
        if (client === this.#client && !this.#closed && client.status === 'ready') this.#live = true;
      },
      () => {
        // A failed SUBSCRIBE leaves the cache off; reconnecting retries it.
        if (client === this.#client && !this.#closed) client.disconnect(true);
      },
    );
  }

  /** Not live any more: the cache flushes (also when it was not live: a flush is cheap). */
  #lose(): void {
    this.#live = false;
    this.#options.onLost();
  }

  #checkHeartbeat(): void {
    if (!this.#live || this.#pinging) return;
    this.#pinging = true;
    const client = this.#client;
    withDeadline(client.ping(), this.#options.config.commandTimeout)
      .catch(() => {
        if (client !== this.#client || this.#closed) return;
        // Unanswered: invalidations may be lost too. Flush now and start over.
        this.#lose();
        client.disconnect(true);
      })
      .finally(() => {
        this.#pinging = false;
      });
  }
}
