import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DPOP_SEAL_FIELD } from '../../src/dpop/sealed-key.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';
import { sidOf } from './session-tokens.ts';

/**
 * A token per API in a DPoP session (RFC 9449 with RFC 8707 and RFC 8693): the resource refresh
 * and the token exchange carry the session's proof, so each API's token is bound to the session's
 * key like the login's (`cnf.jkt`), and the upstream gets it as `Authorization: DPoP` with a proof
 * signed by that key.
 */

const ORDERS = 'https://orders.example.test';
const REPORTS = 'https://reports.example.test';

describe('per-route tokens of a DPoP session', () => {
  let upstream: TestUpstream;
  let stack: GatewayStack;

  beforeAll(async () => {
    upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
    stack = await startGatewayStack({
      dpop: {},
      opOptions: { resourceServers: { [ORDERS]: { scope: 'orders' }, [REPORTS]: { scope: 'reports' } }, tokenExchange: true },
      provider: { scopes: ['openid', 'profile', 'email', 'offline_access', 'orders'] },
      routes: () => [
        { prefix: '/orders', upstream: upstream.url, resource: ORDERS },
        { prefix: '/reports', upstream: upstream.url, exchange: { audience: REPORTS } },
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  it('each API token is bound to the session key and sent with a proof of it', async () => {
    const browser = await stack.login();
    const { gateway } = stack.instances[0]!;
    const sid = await sidOf(browser, stack);
    const jwk = JSON.parse(gateway.keyring.open((await gateway.store.getTokens(sid))!.dpopKey!, sid, DPOP_SEAL_FIELD)) as JWK;
    const { d: _private, ...publicJwk } = jwk;
    const thumbprint = await calculateJwkThumbprint(publicJwk);
    for (const [prefix, audience] of [['/orders', ORDERS], ['/reports', REPORTS]] as const) {
      expect((await browser.request(`${stack.url}${prefix}/echo`)).status).toBe(200);
      const seen = upstream.seen.at(-1)!;
      const [scheme, token] = String(seen.headers.authorization).split(' ');
      expect(scheme).toBe('DPoP');
      expect(decodeJwt(token!)).toMatchObject({ aud: audience, cnf: { jkt: thumbprint } });
      const proofKey = decodeProtectedHeader(String(seen.headers.dpop)).jwk as JWK;
      expect(await calculateJwkThumbprint(proofKey)).toBe(thumbprint);
    }
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 1 });
    expect(stack.op.stats.exchangeGrants).toBe(1);
  });
});
