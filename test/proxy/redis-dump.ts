import { Redis } from 'ioredis';

/** Every key in a Redis server with its value(s) as text, through a client of its own. */
export async function dumpRedis(url: string): Promise<Map<string, string[]>> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const dump = new Map<string, string[]>();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await client.type(key);
        if (type === 'string') dump.set(key, [(await client.get(key)) ?? '']);
        else if (type === 'set') dump.set(key, await client.smembers(key));
        else if (type === 'hash') dump.set(key, Object.entries(await client.hgetall(key)).flat());
        else if (type === 'list') dump.set(key, await client.lrange(key, 0, -1));
        else if (type === 'zset') dump.set(key, await client.zrange(key, '0', '-1'));
        else dump.set(key, []);
      }
    } while (cursor !== '0');
    return dump;
  } finally {
    client.disconnect();
  }
}
