import { setTimeout as sleep } from 'node:timers/promises';
import type { OpenIdProviderHandle } from '../demo/op.ts';
import type { ChildHandle } from './child.ts';
import { API_PATH } from './gateway-config.ts';
import type { StormResult } from './results.ts';
import { loginForLoad } from './session.ts';
import { StormClient } from './storm-load.ts';

/**
 * Row (e), the refresh storm: several gateway replicas share one Redis; one session logs in,
 * its access token (short-lived at this provider) is left to expire, then N requests arrive at
 * once, split over the replicas. Every one of them needs a fresh token; the provider should
 * see exactly one refresh grant, and the requests should wait about one token-endpoint call.
 */
export interface StormSetup {
  gateways: readonly ChildHandle[];
  provider: OpenIdProviderHandle;
  /** The provider's access-token lifetime, seconds. */
  accessTokenTtlS: number;
  tokenEndpointDelayMs: number;
  requests: number;
}

/** Started this long after the expiry at the latest: comfortably expired, not yet a new window. */
const AFTER_EXPIRY_MS = 100;
const WARM_PATH = '/bench-storm-warmup';

export async function runStorm(setup: StormSetup): Promise<StormResult> {
  const [first] = setup.gateways;
  if (first === undefined) throw new Error('the storm needs at least one gateway');
  const session = await loginForLoad(first.url);
  const perGateway = Math.ceil(setup.requests / setup.gateways.length);
  const client = new StormClient(setup.gateways.map((gateway) => gateway.url), perGateway);
  try {
    // Open every connection now, on a path that is no route (so no token is touched).
    await client.warm(WARM_PATH, perGateway);
    // The token was obtained before the login finished, so it has expired by then.
    const expiredBy = session.loggedInAt + setup.accessTokenTtlS * 1000;
    await sleep(Math.max(0, expiredBy + AFTER_EXPIRY_MS - Date.now()));
    setup.provider.resetStats();
    const startedAfterExpiryMs = Date.now() - expiredBy;
    const outcome = await client.fire(API_PATH, { cookie: session.cookie }, setup.requests);
    return {
      requests: setup.requests,
      instances: setup.gateways.length,
      tokenEndpointDelayMs: setup.tokenEndpointDelayMs,
      refreshGrants: setup.provider.stats.refreshGrants,
      refreshReuse: setup.provider.stats.refreshReuse,
      statuses: outcome.statuses,
      latency: outcome.latency,
      startedAfterExpiryMs,
    };
  } finally {
    client.close();
  }
}
