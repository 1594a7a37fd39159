import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SampleApiEcho } from '../../demo/api.ts';
import { DEMO_CLIENT_ID, DEMO_PORTS, DEMO_PROVIDER_ID } from '../../demo/main.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { loadConfig } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { logLine, startCliReady, type RunningCli } from '../cli/run-cli.ts';
import { loginThroughGateway } from '../support/login.ts';
import { onFreePort } from '../support/ports.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { DEPLOY_DIR, documentsOf } from './manifests.ts';

/**
 * deploy/compose.yaml cannot run here (no Docker engine), so this checks what it promises: its
 * gateway config is valid and agrees with the demo's defaults, and the two processes it pairs
 * (`demo/main.ts --without-gateway` and `tokengate start` with compose/gateway.yaml, on Redis)
 * log a user in and call the API together, on free ports instead of the fixed ones.
 */

interface ComposeService {
  image?: string;
  build?: { context: string; target?: string };
  network_mode?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  user?: string;
}

const compose = documentsOf(join(DEPLOY_DIR, 'compose.yaml'))[0] as unknown as { services: Record<string, ComposeService> };
const gatewayYaml = readFileSync(join(DEPLOY_DIR, 'compose', 'gateway.yaml'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'tokengate-compose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secrets = { TOKENGATE_ENCRYPTION_KEYS: `k1:${generateKey()}`, TOKENGATE_COOKIE_KEYS: generateKey(), TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET: generateKey() };

describe('deploy/compose.yaml', () => {
  const { services } = compose;

  it('runs the gateway image, Redis and the demo provider, all on host networking', () => {
    expect(Object.keys(services).sort()).toEqual(['demo', 'gateway', 'redis']);
    for (const service of Object.values(services)) expect(service.network_mode).toBe('host');
    expect(services['gateway']!.build).toEqual({ context: '..' });
    expect(services['demo']!.build).toEqual({ context: '..', target: 'build' });
    expect(services['demo']!.command).toEqual(['node', 'demo/main.ts', '--without-gateway']);
    expect(services['gateway']!.depends_on).toEqual({ redis: { condition: 'service_healthy' }, demo: { condition: 'service_healthy' } });
    expect(services['gateway']!.volumes).toEqual(['./compose/gateway.yaml:/etc/tokengate/gateway.yaml:ro']);
  });

  it('names a build stage that exists in the Dockerfile', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${services['demo']!.build!.target}$`, 'm'));
  });

  it('gives the gateway a valid configuration that matches the demo\'s client, ports and the image\'s health check', () => {
    const config = loadConfig({ text: gatewayYaml, env: secrets });
    const provider = config.providers[0]!;
    expect(provider.id).toBe(DEMO_PROVIDER_ID);
    expect(provider.clientId).toBe(DEMO_CLIENT_ID);
    expect(provider.type === 'oidc' && provider.issuer).toBe(`http://127.0.0.1:${DEMO_PORTS.op}`);
    expect(config.publicOrigin).toBe(`http://localhost:${DEMO_PORTS.gateway}`);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: DEMO_PORTS.gateway });
    expect(config.routes.map((route) => route.upstream)).toEqual([`http://127.0.0.1:${DEMO_PORTS.api}`, `http://127.0.0.1:${DEMO_PORTS.spa}`]);
    // The Dockerfile's HEALTHCHECK asks 127.0.0.1:9464/healthz.
    expect(config.ops).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(config.store.type).toBe('redis');
  });

  it('shares one client secret between the demo provider and the gateway', () => {
    const name = 'TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET';
    expect(services['demo']!.environment![name]).toBeDefined();
    expect(services['gateway']!.environment![name]).toBe(services['demo']!.environment![name]);
  });
});

describe('the processes compose pairs, on free ports', () => {
  it('log a user in and call the API through the gateway, with sessions in Redis', async () => {
    const redis = await startRedisServer();
    // The gateway's port is in the redirect URI the demo's provider registers, and in its
    // config: chosen first, and both started again on another one if it is taken meanwhile. The
    // demo's provider, API and SPA and the gateway's ops listener bind port 0 and report it.
    let demo: RunningCli | undefined;
    let gateway: RunningCli | undefined;
    const ports = { gateway: 0, op: 0, api: 0, spa: 0, ops: 0 };
    try {
      await onFreePort(async (port) => {
        ports.gateway = port;
        demo = await startCliReady(['--without-gateway', '--port', String(port), '--op-port', '0', '--api-port', '0', '--spa-port', '0'], {
          entry: new URL('../../demo/main.ts', import.meta.url).pathname,
          env: { TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET: secrets.TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET },
        }, /Ctrl-C stops everything/);
        const banner = demo.output().stdout;
        const bannerPort = (label: string) => Number(new RegExp(`${label} +http://127\\.0\\.0\\.1:(\\d+)`).exec(banner)?.[1]);
        Object.assign(ports, { op: bannerPort('OpenID Provider'), api: bannerPort('Sample API'), spa: bannerPort('SPA files') });
        const configFile = join(dir, 'gateway.yaml');
        writeFileSync(
          configFile,
          gatewayYaml
            .replaceAll(`:${DEMO_PORTS.gateway}`, `:${port}`)
            .replace(`port: ${DEMO_PORTS.gateway}`, `port: ${port}`)
            .replace('port: 9464', 'port: 0')
            .replace(`:${DEMO_PORTS.op}`, `:${ports.op}`)
            .replace(`:${DEMO_PORTS.api}`, `:${ports.api}`)
            .replace(`:${DEMO_PORTS.spa}`, `:${ports.spa}`)
            .replace('redis://127.0.0.1:6379/0', `${redis.url}/0`),
        );
        try {
          gateway = await startCliReady(['start', '--config', configFile], { env: secrets }, /"event":"listening"/);
        } catch (err) {
          await demo.stop();
          throw err;
        }
      });
      ports.ops = Number(new URL(String(logLine(gateway!, 'listening')?.['ops'])).port);
      const origin = `http://localhost:${ports.gateway}`;
      const page = await fetch(`${origin}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Tokengate demo</title>');
      const user = await loginThroughGateway(`${origin}/auth/login`, { username: DEMO_USER.username, password: DEMO_USER.password });
      const call = await user.request(`${origin}/api/hello`, { headers: { 'x-csrf': '1' } });
      expect(call.status).toBe(200);
      expect(call.json<SampleApiEcho>().sub).toBe(DEMO_USER.sub);
      expect((await fetch(`http://127.0.0.1:${ports.ops}/readyz`)).status).toBe(200);
    } finally {
      const results = await Promise.all([gateway?.stop(), demo?.stop()]);
      await redis.stop();
      expect(results.map((result) => result?.code)).toEqual([0, 0]);
    }
  });
});
