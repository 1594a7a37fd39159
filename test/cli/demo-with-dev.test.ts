import { describe, expect, it } from 'vitest';
import type { SampleApiEcho } from '../../demo/api.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { loginThroughGateway } from '../support/login.ts';
import { onFreePort } from '../support/ports.ts';
import { startCliReady, type RunningCli } from './run-cli.ts';

/**
 * `./scripts/demo --without-gateway` and `tokengate dev` together, as the README documents: the
 * demo's OpenID Provider accepts the dev proxy's callback (provider id "dev") as well as the
 * demo gateway's, and the command the demo prints is the one that works.
 */

describe('scripts/demo --without-gateway with tokengate dev', () => {
  it('logs the demo user in through tokengate dev and reaches the sample API with the bearer', async () => {
    const secret = generateKey();
    // The gateway port is in the redirect URI the demo's provider registers, so it is chosen
    // first (demo and dev start again on another one if it is taken meanwhile); the provider, API
    // and SPA bind port 0 and the banner says where.
    const ports = { gateway: 0, op: 0, api: 0, spa: 0 };
    let demo: RunningCli | undefined;
    let dev: RunningCli | undefined;
    try {
      await onFreePort(async (port) => {
        ports.gateway = port;
        demo = await startCliReady(['--without-gateway', '--port', String(port), '--op-port', '0', '--api-port', '0', '--spa-port', '0'], {
          command: ['bash', 'scripts/demo'],
          env: { TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET: secret },
        }, /Ctrl-C stops everything/, 60_000);
        const banner = demo.output().stdout;
        const bannerPort = (label: string) => Number(new RegExp(`${label} +http://127\\.0\\.0\\.1:(\\d+)`).exec(banner)?.[1]);
        Object.assign(ports, { op: bannerPort('OpenID Provider'), api: bannerPort('Sample API'), spa: bannerPort('SPA files') });
        // The printed command, run as printed (its secret placeholder filled in from the env).
        const printed = /node src\/cli\.ts dev (.+)$/m.exec(banner);
        expect(printed).not.toBeNull();
        const args = printed![1]!.trim().split(/\s+/);
        expect(args).toEqual(['--upstream', `http://127.0.0.1:${ports.api}`, '--issuer', `http://127.0.0.1:${ports.op}`, '--client-id', 'tokengate-demo', '--port', String(port)]);
        try {
          dev = await startCliReady(['dev', ...args], { env: { TOKENGATE_PROVIDER_DEV_CLIENT_SECRET: secret } }, /Ctrl-C stops/);
        } catch (err) {
          await demo.stop('SIGINT');
          throw err;
        }
      });

      const origin = `http://localhost:${ports.gateway}`;
      const user = await loginThroughGateway(`${origin}/auth/login?returnTo=%2Fhello`, { username: DEMO_USER.username, password: DEMO_USER.password });
      expect(user.finalUrl).toBe(`${origin}/hello`);
      expect(user.status).toBe(200);
      expect(user.response.json<SampleApiEcho>()).toMatchObject({ sub: DEMO_USER.sub, path: '/hello' });
    } finally {
      const results = await Promise.all([dev?.stop('SIGINT'), demo?.stop('SIGINT')]);
      expect(results.map((result) => result?.code)).toEqual([0, 0]);
    }
  });
});
