import { describe, expect, it } from 'vitest';
import type { SampleApiEcho } from '../../demo/api.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { loginThroughGateway } from '../support/login.ts';
import { freePort } from '../support/ports.ts';
import { startCli } from './run-cli.ts';

/**
 * `./scripts/demo --without-gateway` and `tokengate dev` together, as the README documents: the
 * demo's OpenID Provider accepts the dev proxy's callback (provider id "dev") as well as the
 * demo gateway's, and the command the demo prints is the one that works.
 */

describe('scripts/demo --without-gateway with tokengate dev', () => {
  it('logs the demo user in through tokengate dev and reaches the sample API with the bearer', async () => {
    const secret = generateKey();
    const ports = { gateway: await freePort(), op: await freePort(), api: await freePort(), spa: await freePort() };
    const demo = startCli(['--without-gateway', '--port', String(ports.gateway), '--op-port', String(ports.op), '--api-port', String(ports.api), '--spa-port', String(ports.spa)], {
      command: ['bash', 'scripts/demo'],
      env: { TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET: secret },
    });
    let dev: ReturnType<typeof startCli> | undefined;
    try {
      await demo.waitFor(/Ctrl-C stops everything/, 60_000);
      // The printed command, run as printed (its secret placeholder filled in from the env).
      const printed = /node src\/cli\.ts dev (.+)$/m.exec(demo.output().stdout);
      expect(printed).not.toBeNull();
      const args = printed![1]!.trim().split(/\s+/);
      expect(args).toEqual(['--upstream', `http://127.0.0.1:${ports.api}`, '--issuer', `http://127.0.0.1:${ports.op}`, '--client-id', 'tokengate-demo', '--port', String(ports.gateway)]);
      dev = startCli(['dev', ...args], { env: { TOKENGATE_PROVIDER_DEV_CLIENT_SECRET: secret } });
      await dev.waitFor(/Ctrl-C stops/);

      const origin = `http://localhost:${ports.gateway}`;
      const user = await loginThroughGateway(`${origin}/auth/login?returnTo=%2Fhello`, { username: DEMO_USER.username, password: DEMO_USER.password });
      expect(user.finalUrl).toBe(`${origin}/hello`);
      expect(user.status).toBe(200);
      expect(user.response.json<SampleApiEcho>()).toMatchObject({ sub: DEMO_USER.sub, path: '/hello' });
    } finally {
      const results = await Promise.all([dev?.stop('SIGINT'), demo.stop('SIGINT')]);
      expect(results.map((result) => result?.code)).toEqual([0, 0]);
    }
  });
});
