import { setTimeout as sleep } from 'node:timers/promises';
import type { OpenIdProviderHandle } from '../demo/op.ts';
import type { ChildHandle } from './child.ts';
import { API_PATH } from './gateway-config.ts';
import type { StormResult } from './results.ts';
import { apiHeaders, loginForLoad } from './session.ts';
import { StormClient } from './storm-load.ts';

/**
 * Row (e), the refresh storm: several gateway replicas share one Redis; one session logs in,
 * its access token (short-lived at this provider) is left to expire, then N requests arrive at
 * once, split over the replicas. Every one of them needs a fresh token; the provider should
 * see exactly one refresh grant, and the requests should wait about one token-endpoint call.
 *
 * For reference, the same burst is first sent while the token is still fresh (no refresh): the
 * difference between the two is what the refresh itself costs the requests.
 */
export interface StormSetup {
  gateways: readonly ChildHandle[];
  provider: OpenIdProviderHandle;
  /** The provider's access-token lifetime, seconds. */
  accessTokenTtlS: number;
  tokenEndpointDelayMs: number;
  requests: number;
}

/** The storm starts this long after the expiry: certainly expired, long before the next window. */
const AFTER_EXPIRY_MS = 100;
/** Connections are (re)opened this long before the storm, well within any keep-alive timeout. */
const WARM_BEFORE_MS = 1000;
const WARM_PATH = '/bench-storm-warmup';

export async function runStorm(setup: StormSetup): Promise<StormResult> {
  const [first] = setup.gateways;
  if (first === undefined) throw new Error('the storm needs at least one gateway');
  const session = await loginForLoad(first.url);
  // The token was obtained before the login finished, so it has surely expired by then.
  const expiredBy = session.loggedInAt + setup.accessTokenTtlS * 1000;
  const perGateway = Math.ceil(setup.requests / setup.gateways.length);
  const client = new StormClient(setup.gateways.map((gateway) => gateway.url), perGateway);
  const headers = apiHeaders(session.cookie);
  try {
    // The reference burst, while the token is fresh (its refresh window opens at half its life).
    await client.warm(WARM_PATH, perGateway);
    setup.provider.resetStats();
    const fresh = await client.fire(API_PATH, headers, setup.requests);
    if (setup.provider.stats.refreshGrants !== 0 || Date.now() >= session.loggedInAt + (setup.accessTokenTtlS * 1000) / 2) {
      throw new Error('the reference burst ran into the refresh window; the machine is too slow for this token lifetime');
    }

    await sleep(Math.max(0, expiredBy - WARM_BEFORE_MS - Date.now()));
    // A path that is no route, so no token is touched: only the connections are opened.
    await client.warm(WARM_PATH, perGateway);
    await sleep(Math.max(0, expiredBy + AFTER_EXPIRY_MS - Date.now()));
    setup.provider.resetStats();
    const startedAfterExpiryMs = Date.now() - expiredBy;
    const storm = await client.fire(API_PATH, headers, setup.requests);
    return {
      requests: setup.requests,
      instances: setup.gateways.length,
      tokenEndpointDelayMs: setup.tokenEndpointDelayMs,
      refreshGrants: setup.provider.stats.refreshGrants,
      refreshReuse: setup.provider.stats.refreshReuse,
      statuses: storm.statuses,
      latency: storm.latency,
      freshTokenBurst: { statuses: fresh.statuses, latency: fresh.latency },
      startedAfterExpiryMs,
    };
  } finally {
    client.close();
  }
}
