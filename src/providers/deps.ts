import { ProviderHttp } from './http.ts';

/** What every provider may be given by the composition root (all optional). */
export interface ProviderDeps {
  /** Clock (epoch milliseconds) for the time checks of ID tokens and logout tokens. */
  now?: () => number;
  /** Pause before the one network retry of refresh, revocation and discovery calls. */
  retryDelayMs?: number;
  /** Told of every failed discovery attempt (at start, on a probe, on first use), with its cause. */
  onDiscoveryFailure?: (providerId: string, err: unknown) => void;
  /** RFC 8707: the resource indicators a login at this provider asks for (the routes' `resource`). */
  resourcesOf?: (providerId: string) => readonly string[];
}

export function clockOf(deps: ProviderDeps): () => number {
  return deps.now ?? Date.now;
}

export function httpFor(providerId: string, timeoutMs: number, deps: ProviderDeps): ProviderHttp {
  return new ProviderHttp({ providerId, timeoutMs, ...(deps.retryDelayMs === undefined ? {} : { retryDelayMs: deps.retryDelayMs }) });
}
