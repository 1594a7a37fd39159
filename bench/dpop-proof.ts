import { cpuUsage } from 'node:process';
import { Keyring, generateKey } from '../src/crypto/keyring.ts';
import { generateDpopKey, importDpopKey } from '../src/dpop/key.ts';
import { DpopNonces } from '../src/dpop/nonces.ts';
import { DpopKeys, sealDpopKey } from '../src/dpop/sealed-key.ts';
import { dpopHeaders } from '../src/proxy/dpop-attempt.ts';
import { BearerToken } from '../src/tokens/bearer-token.ts';

/**
 * The work DPoP adds to one proxied request, in this process alone (no server, no network): the
 * session's imported key from the in-memory cache, then `Authorization: DPoP` and a fresh proof
 * (ES256 signature over htm, htu, iat, jti, ath, nonce). A fixed number of rounds after a warm-up;
 * prints CPU and wall-clock microseconds per request. For comparison, the same with the key opened
 * and imported every time (what the key cache saves). The full wrk benchmark shows the same cost as
 * row (p) against row (c).
 *
 *   node bench/dpop-proof.ts [rounds]     (default 5000)
 */

const rounds = Math.min(Math.max(Number(process.argv[2]) || 5000, 100), 1_000_000);
const keyring = new Keyring([{ kid: 'bench', key: generateKey() }]);
const sid = 'bench-session';
const sealed = sealDpopKey(keyring, sid, (await generateDpopKey()).privateJwk);
const keys = new DpopKeys(keyring, 16);
const nonces = new DpopNonces();
nonces.remember('http://127.0.0.1:3000', 'bench-nonce');
const upstream = new URL('http://127.0.0.1:3000');
const bearer = new BearerToken({ accessToken: 'x'.repeat(43), ver: 1, expiresAt: undefined, outcome: 'none' });

async function cachedKey(): Promise<void> {
  const key = await keys.forSession(sid, sealed);
  await dpopHeaders(bearer, { key, nonces }, 'GET', upstream, '/api/items?page=2');
}

async function keyImportedEachTime(): Promise<void> {
  const key = await importDpopKey(keyring.open(sealed, sid, 'dpop'));
  await dpopHeaders(bearer, { key, nonces }, 'GET', upstream, '/api/items?page=2');
}

async function measure(label: string, oneRequest: () => Promise<void>): Promise<void> {
  for (let i = 0; i < Math.min(rounds, 1000); i += 1) await oneRequest();
  const cpuBefore = cpuUsage();
  const wallBefore = performance.now();
  for (let i = 0; i < rounds; i += 1) await oneRequest();
  const wallUs = (performance.now() - wallBefore) * 1000;
  const cpu = cpuUsage(cpuBefore);
  console.log(`DPoP per request (${label}): ${((cpu.user + cpu.system) / rounds).toFixed(1)} us CPU, ${(wallUs / rounds).toFixed(1)} us wall, over ${rounds} rounds (node ${process.version})`);
}

await measure('cached key + proof', cachedKey);
await measure('key opened and imported + proof', keyImportedEachTime);
