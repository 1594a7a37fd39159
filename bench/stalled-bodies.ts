/**
 * How much memory stalled uploads pin in the gateway (security audit item 6).
 *
 *   node --expose-gc bench/stalled-bodies.ts [clients=48] [budgetMiB=32] [idleSeconds=2]
 *
 * One gateway (in this process, memory store) with a public route to an upstream that accepts
 * connections and never reads; `clients` connections each send the head and 1 MiB - 1 KiB of a
 * 1 MiB body, then nothing. Prints the RSS growth while they stall, and after the body-idle
 * timeout has answered them (skipped when idleSeconds > 30). With budgetMiB=100000 idleSeconds=300
 * it behaves like the gateway before the limits (no budget, Node's 300 s request timeout). The
 * clients run in a child process. Bounded: the child exits, every socket is closed, and the
 * process exits after at most idleSeconds + 3 s.
 */
import { fork } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { startGatewayStack } from '../test/support/gateway.ts';

const clients = Number(process.argv[2] ?? 48);
const budgetMiB = Number(process.argv[3] ?? 32);
const idleSeconds = Number(process.argv[4] ?? 2);
const MiB = 1024 * 1024;

const held = new Set<Socket>();
const upstream = createServer((socket) => {
  held.add(socket);
  socket.pause();
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamPort = (upstream.address() as { port: number }).port;

const stack = await startGatewayStack({
  proxy: { replayBudget: budgetMiB * MiB, bodyIdleTimeout: `${idleSeconds}s` },
  routes: () => [{ prefix: '/up', upstream: `http://127.0.0.1:${upstreamPort}`, auth: 'public', timeout: `${idleSeconds + 60}s` }],
});
const url = new URL(stack.url);
const memory = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss / MiB, arrayBuffers: usage.arrayBuffers / MiB };
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const before = memory();
// The clients run in a child process, so that their own buffers are not counted here.
const clientScript = `
const net = require('node:net');
const [port, count] = [Number(process.argv[1]), Number(process.argv[2])];
const MiB = 1024 * 1024;
let answered = 0;
for (let i = 0; i < count; i += 1) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.once('data', () => { answered += 1; });
  socket.write('POST /up/x HTTP/1.1\\r\\nhost: 127.0.0.1\\r\\nx-csrf: 1\\r\\ncontent-length: ' + MiB + '\\r\\n\\r\\n');
  socket.write(Buffer.alloc(MiB - 1024, 1));
}
process.on('message', () => { process.send(answered); process.exit(0); });
`;
const child = fork('-e', [clientScript, url.port, String(clients)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] } as never);
await sleep(1500);
const stalled = memory();
let after: ReturnType<typeof memory> | undefined;
if (idleSeconds <= 30) {
  await sleep(idleSeconds * 1000 + 1000);
  after = memory();
}
const answered = await new Promise<number>((resolve) => {
  child.once('message', (count) => resolve(Number(count)));
  child.send('report');
});
const growth = (m: ReturnType<typeof memory>) => ({ rssMiB: +(m.rss - before.rss).toFixed(1), arrayBuffersMiB: +(m.arrayBuffers - before.arrayBuffers).toFixed(1) });
console.log(JSON.stringify({ clients, budgetMiB, idleSeconds, whileStalled: growth(stalled), ...(after ? { afterIdleTimeout: growth(after) } : {}), answeredClients: answered }));
for (const socket of held) socket.destroy();
await stack.close();
upstream.close();
process.exit(0);
