import type { Config } from '../config/index.ts';

/**
 * What the store configuration points at, for messages: `memory`, `redis redis://host:port/db`,
 * `redis sentinel <name> via host:port,...` or `redis cluster host:port,...`. Never a user name
 * or password (the URL's credentials are dropped).
 */
export function storeTarget(store: Config['store']): string {
  if (store.type === 'memory') return 'memory';
  const redis = store.redis;
  if (redis.url !== undefined) {
    if (!URL.canParse(redis.url)) return 'redis (unparsable URL)';
    const url = new URL(redis.url);
    return `redis ${url.protocol}//${url.host}${url.pathname === '' ? '' : url.pathname}`;
  }
  const nodes = (list: readonly { host: string; port: number }[]) => list.map((node) => `${node.host}:${node.port}`).join(',');
  if (redis.sentinel !== undefined) return `redis sentinel ${redis.sentinel.name} via ${nodes(redis.sentinel.sentinels)}`;
  return `redis cluster ${nodes(redis.cluster?.nodes ?? [])}`;
}
