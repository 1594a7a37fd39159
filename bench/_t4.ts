import { startChild, childEntry } from './child.ts';
import { runPaced } from './paced.ts';
const up = await startChild('upstream', childEntry('upstream'));
const bp = await startChild('bare', childEntry('bare-proxy'), { init: { target: up.url } });
for (const [n,u] of [['a', up.url], ['b', bp.url]]) {
  await runPaced({ url: u + '/api/x', rate: 1300, durationS: 1, connections: 50 });
  const r = await runPaced({ url: u + '/api/x', rate: 1300, durationS: 5, connections: 50 });
  console.log(n, r.rps, r.requests, r.errors, r.latency);
}
await bp.stop(); await up.stop();
