import type { Config } from './schema.ts';

/**
 * What the store configuration points at, for messages: `memory`, `redis redis://host:port/db`,
 * `redis sentinel <name> via host:port,...` or `redis cluster host:port,...`. Never a user name
 * or password (the URL's credentials are dropped).
 */
export function storeTarget(store: Config['store']): string {
  return store.type === 'memory' ? 'memory' : `redis ${storeLocation(store)}`;
}

/** The Redis part of storeTarget (`redis://host:port/db`, `sentinel ...`, `cluster ...`); empty for memory. */
export function storeLocation(store: Config['store']): string {
  if (store.type === 'memory') return '';
  const redis = store.redis;
  if (redis.url !== undefined) {
    if (!URL.canParse(redis.url)) return '(unparsable URL)';
    const url = new URL(redis.url);
    return `${url.protocol}//${url.host}${url.pathname}`;
  }
  const nodes = (list: readonly { host: string; port: number }[]) => list.map((node) => `${node.host}:${node.port}`).join(',');
  if (redis.sentinel !== undefined) return `sentinel ${redis.sentinel.name} via ${nodes(redis.sentinel.sentinels)}`;
  return `cluster ${nodes(redis.cluster?.nodes ?? [])}`;
}
