/** URL rules of the configuration schema (see schema.ts); the providers use isTlsOrLoopback too. */

/** https, or http to a loopback host (127.0.0.0/8, ::1, localhost). Not a URL: false. */
export function isTlsOrLoopback(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname));
}

/** `https://app.example.com` or `https://app.example.com/`: nothing after the host but a slash. */
export function isBareOrigin(url: URL): boolean {
  return url.pathname === '/' && url.search === '' && url.hash === '' && !/[?#]$/.test(url.href);
}

/** A Redis URL's database: `/`, nothing, or `/<index>` with an index from 0 to 65535. */
export function redisDbProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return 'must be a redis:// or rediss:// URL';
  const path = new URL(value).pathname;
  if (path === '' || path === '/') return undefined;
  const index = /^\/(\d{1,5})$/.exec(path)?.[1];
  if (index === undefined || Number(index) > 65535) return `the database index must be a whole number (0-15 on a default Redis server), got "${path.slice(1, 30)}"`;
  return undefined;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
