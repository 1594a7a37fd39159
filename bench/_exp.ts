import { randomBytes } from 'node:crypto';
import { startOpenIdProvider } from '../demo/op.ts';
import { childEntry, startChild } from './child.ts';
import { API_PATH, callbackUrl, gatewayConfig, generateGatewayKeys } from './gateway-config.ts';
import { freePorts } from './listen.ts';
import { startRedis } from './redis.ts';
import { runLoad } from './load.ts';
import { sampleRss } from './rss.ts';
import { loginForLoad } from './session.ts';
const level = (process.argv[2] ?? 'info') as 'info';
const store = process.argv[3] ?? 'redis';
const up = await startChild('upstream', childEntry('upstream'));
const redis = await startRedis();
const [port] = (await freePorts(1)) as [number];
const client = { clientId: 'x', clientSecret: randomBytes(16).toString('hex') };
const op = await startOpenIdProvider({ clients: [{ ...client, redirectUris: [callbackUrl(`http://127.0.0.1:${port}`)] }] });
const gw = await startChild('gw', childEntry('gateway'), { execArgv: (process.env.EXTRA ?? '').split(' ').filter(Boolean), init: { config: gatewayConfig({ port, publicOrigin: `http://127.0.0.1:${port}`, issuer: op.issuer, client, upstream: up.url, keys: generateGatewayKeys(), logLevel: level, ...(store === 'redis' ? { redisUrl: redis.url } : {}) }) } });
const s = await loginForLoad(gw.url);
for (let i = 0; i < 3; i++) {
  const rss = sampleRss(gw.pid);
  const r = await runLoad({ url: gw.url + API_PATH, connections: 50, durationS: 5, headers: { cookie: s.cookie } });
  console.log(level, store, Math.round(r.rps), r.latency.p50.toFixed(1), r.non2xx, (await rss.stop()).peakMb, Object.fromEntries(Object.entries(await gw.ask<Record<string, number>>('memory')).map(([k, v]) => [k, Math.round(v / 1e6)])));
}
await gw.stop(); await op.close(); await redis.stop(); await up.stop();
