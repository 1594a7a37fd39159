import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, Keyring } from '../../src/crypto/keyring.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { sealTokenSet } from '../../src/tokens/token-set.ts';
import { redisConfig } from '../store/redis-config.ts';
import { makeSession } from '../store/contract-fixtures.ts';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { runCli } from './run-cli.ts';

/** `tokengate keys status` against a real three-master Redis Cluster: every master is scanned. */

const skip = skipRedisSuite('keys status on Redis Cluster', 'redis-server');

describe.skipIf(skip)('tokengate keys status on Redis Cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-keys-status-'));
  const k1 = { kid: 'k1', key: generateKey() };
  const k2 = { kid: 'k2', key: generateKey() };
  let cluster: RedisClusterHandle | undefined;
  let file: string;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const store = new RedisStore(redisConfig({ cluster: { nodes: [...cluster.nodes] } }));
    const inspector = new Cluster([...cluster.nodes]);
    try {
      const keyring = new Keyring([k1]);
      const login = async () => {
        const session = makeSession(Date.now());
        await store.createSession(session, sealTokenSet(keyring, session.sid, new ProviderTokens({ accessToken: 'AT', refreshToken: 'RT', expiresIn: 3600 }), Date.now()), 60_000);
      };
      for (let i = 0; i < 30; i += 1) await login();
      keyring.replace([k2, k1]);
      for (let i = 0; i < 10; i += 1) await login();
      // A token set under a key no longer configured, and one that is not a token set at all.
      await inspector.set('tg:tok:{foreign-kid}', JSON.stringify({ ver: 1, accessToken: 'v1.k0.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', obtainedAt: 1, tokenType: 'Bearer' }), 'PX', 60_000);
      await inspector.set('tg:tok:{garbage}', 'not json', 'PX', 60_000);
      // A set whose login token is under k2 but whose per-route token is under a key not configured.
      const routeToken = { accessToken: 'v1.k9.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', ver: 1, obtainedAt: 1, tokenType: 'Bearer' };
      await inspector.set('tg:tok:{route-token}', JSON.stringify({ ver: 1, accessToken: 'v1.k2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', obtainedAt: 1, tokenType: 'Bearer', resources: { 'resource:https://orders.example': routeToken } }), 'PX', 60_000);
      // Spread over the masters, or the test proves nothing.
      const perMaster = await Promise.all(inspector.nodes('master').map(async (node) => (await node.keys('tg:tok:*')).length));
      expect(perMaster.filter((count) => count > 0).length).toBe(3);
    } finally {
      inspector.disconnect();
      await store.close();
    }
    file = join(dir, 'cluster.yaml');
    const nodes = cluster.nodes.map((node) => `{ host: 127.0.0.1, port: ${node.port} }`).join(', ');
    writeFileSync(file, `publicOrigin: http://127.0.0.1:1\nstore: { type: redis, redis: { cluster: { nodes: [${nodes}] } } }\nproviders:\n  - { id: op, type: oidc, issuer: https://issuer.example, clientId: tg }\n`);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the token sets of every master per kid, and flags a kid that is not configured', async () => {
    const env = { TOKENGATE_ENCRYPTION_KEYS: `k2:${k2.key},k1:${k1.key}`, TOKENGATE_COOKIE_KEYS: generateKey(), TOKENGATE_PROVIDER_OP_CLIENT_SECRET: 'x' };
    const result = await runCli(['keys', 'status', '--config', file], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^kid\s+token sets\s+role$/);
    expect(lines[1]).toMatch(/^k2\s+11\s+seals \(first key\)$/);
    expect(lines[2]).toMatch(/^k1\s+30\s+opens only$/);
    expect(lines.slice(3, 5).sort()).toEqual([expect.stringMatching(/^k0\s+1\s+NOT IN keys\.encryption: these token sets cannot be opened$/), expect.stringMatching(/^k9\s+1\s+NOT IN keys\.encryption: these token sets cannot be opened$/)]);
    expect(lines[5]).toMatch(/^43 token set\(s\) on 3 master\(s\), 1 not in the sealed format, \d+ ms$/);
    expect(result.stdout).not.toContain(k1.key);
  });

  it('says so when the store does not answer (exit 3), and wrong usage is exit 2', async () => {
    const down = join(dir, 'down.yaml');
    writeFileSync(down, `publicOrigin: http://127.0.0.1:1\nstore: { type: redis, redis: { url: "redis://127.0.0.1:1/0", connectTimeout: 300ms } }\nproviders:\n  - { id: op, type: oidc, issuer: https://issuer.example, clientId: tg }\n`);
    const env = { TOKENGATE_ENCRYPTION_KEYS: `k1:${k1.key}`, TOKENGATE_COOKIE_KEYS: generateKey(), TOKENGATE_PROVIDER_OP_CLIENT_SECRET: 'x' };
    const result = await runCli(['keys', 'status', '--config', down], { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('tokengate keys status: the store does not answer (redis redis://127.0.0.1:1/0)');
    expect((await runCli(['keys'], { env })).code).toBe(2);
    expect((await runCli(['keys', 'status'], { env })).code).toBe(2);
    expect((await runCli(['keys', 'status', '--config', down, '--time-budget', 'soon'], { env })).code).toBe(2);
  });
});
