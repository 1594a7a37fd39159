import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { freePort, onFreePort } from '../support/ports.ts';
import { skipRedisSuite, startRedisServer } from '../support/redis-server.ts';
import { logLine, runCli, startCliReady } from './run-cli.ts';

/** `tokengate start` as a child process: its listeners, its signals, its exit codes. */

const dir = mkdtempSync(join(tmpdir(), 'tokengate-start-'));
const clientSecret = generateKey();
const env = {
  TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`,
  TOKENGATE_COOKIE_KEYS: generateKey(),
  TOKENGATE_PROVIDER_OP_CLIENT_SECRET: clientSecret,
};
let op: OpenIdProviderHandle;

beforeAll(async () => {
  op = await startOpenIdProvider({ clients: [{ clientId: 'tg', clientSecret, redirectUris: ['http://127.0.0.1:1/auth/callback/op'] }] });
});

afterAll(async () => {
  await op?.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string, ports: { main: number; ops: number; verify?: number }, store = 'store: { type: memory }'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `publicOrigin: http://127.0.0.1:${ports.main}
listen: { host: 127.0.0.1, port: ${ports.main} }
ops: { host: 127.0.0.1, port: ${ports.ops} }
${store}
providers:
  - { id: op, type: oidc, issuer: ${op.issuer}, clientId: tg }
${ports.verify === undefined ? '' : `forwardAuth: { enabled: true, listen: { host: 127.0.0.1, port: ${ports.verify} } }`}
logging: { level: info }
`,
  );
  return file;
}

const skipRedis = skipRedisSuite('start with a Redis database out of range', 'redis-server');

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1)!;
}

describe('tokengate start', () => {
  it('listens on the main, ops and forward-auth listeners, logs where, and exits 0 on SIGTERM', async () => {
    // The main port is in publicOrigin, so the config names it; ops and forward-auth bind port 0.
    let main = 0;
    const cli = await onFreePort((port) => {
      main = port;
      return startCliReady(['start', '--config', writeConfig('ok.yaml', { main, ops: 0, verify: 0 })], { env }, /"event":"listening"/);
    });
    try {
      const listening = logLine(cli, 'listening');
      expect(listening).toMatchObject({
        main: `http://127.0.0.1:${main}`,
        ops: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        forwardAuth: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/auth\/verify$/),
      });
      const portOf = (url: unknown) => Number(new URL(String(url)).port);
      const ports = { main, ops: portOf(listening!['ops']), verify: portOf(listening!['forwardAuth']) };
      expect(new Set(Object.values(ports)).size).toBe(3);
      // Where to go, and what to register with the provider.
      await cli.waitFor(/"event":"register_uris"/);
      const lines = cli.output().stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.find((line) => line['event'] === 'open_url')).toMatchObject({ open: `http://127.0.0.1:${ports.main}/` });
      expect(lines.find((line) => line['event'] === 'register_uris' && line['provider'] === 'op')).toMatchObject({
        callback: `http://127.0.0.1:${ports.main}/auth/callback/op`,
        postLogout: `http://127.0.0.1:${ports.main}/`,
        backchannelLogout: `http://127.0.0.1:${ports.main}/auth/backchannel-logout/op`,
      });
      expect((await fetch(`http://127.0.0.1:${ports.ops}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${ports.ops}/readyz`)).status).toBe(200);
      const session = await fetch(`http://127.0.0.1:${ports.main}/auth/session`);
      expect(session.status).toBe(401);
      expect(await session.json()).toMatchObject({ code: 'NO_SESSION' });
      expect((await fetch(`http://127.0.0.1:${ports.verify}/auth/verify`, { headers: { 'x-csrf': '1' } })).status).toBe(401);
      const metrics = await (await fetch(`http://127.0.0.1:${ports.ops}/metrics`)).text();
      expect(metrics).toMatch(/route="forward_auth\.verify"[^\n]*status="401"|status="401"[^\n]*route="forward_auth\.verify"/);
      expect((await fetch(`http://127.0.0.1:${ports.main}/auth/verify`)).status).toBe(404);
    } finally {
      const result = await cli.stop('SIGTERM');
      expect(result.code).toBe(0);
      expect(`${result.stdout}${result.stderr}`).not.toContain(clientSecret);
    }
  });

  it('exits 3 when a port is taken, naming the listener', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const result = await runCli(['start', '--config', writeConfig('busy.yaml', { main: 0, ops: port })], { env });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port} (ops listener, ops.port): EADDRINUSE`);
      // The last line names the setting to change.
      expect(lastLine(result.stderr)).toMatch(new RegExp(`^tokengate: cannot listen on 127\\.0\\.0\\.1:${port} \\(ops listener, ops\\.port\\): EADDRINUSE: .*another port with ops\\.port$`));
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('exits 3 when the Redis store does not answer', async () => {
    const closed = await freePort();
    const file = writeConfig('redis.yaml', { main: 0, ops: 0 }, `store: { type: redis, redis: { url: "redis://127.0.0.1:${closed}/0", connectTimeout: 300ms, commandTimeout: 300ms } }`);
    const result = await runCli(['start', '--config', file], { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('the redis store does not answer');
    // The last line carries the cause: where, and the errno. No stack trace anywhere.
    expect(lastLine(result.stderr)).toBe(`tokengate: the redis store does not answer (redis://127.0.0.1:${closed}/0): connect ECONNREFUSED 127.0.0.1:${closed}`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it.skipIf(skipRedis)('exits 3 when the Redis database index is out of range, instead of using another database', async () => {
    const redis = await startRedisServer();
    try {
      const url = `${redis.url.replace(/\/\d*$/, '')}/99`;
      const file = writeConfig('db99.yaml', { main: 0, ops: 0 }, `store: { type: redis, redis: { url: "${url}" } }`);
      const result = await runCli(['start', '--config', file], { env });
      expect(result.code).toBe(3);
      expect(lastLine(result.stderr)).toBe(
        `tokengate: the redis store refused the connection setup (${url}): ERR DB index is out of range (database 99: the server has fewer; see its \`databases\` setting, or use 0-15 on a default server)`,
      );
    } finally {
      await redis.stop();
    }
  });

  it('exits 1 with every problem for an invalid configuration, 2 without --config', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'publicOrigin: ftp://example.com\nproviders: []\n');
    const result = await runCli(['start', '--config', file], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('- publicOrigin: ');
    expect(result.stderr).toContain('- providers: ');
    expect((await runCli(['start'])).code).toBe(2);
  });
});
