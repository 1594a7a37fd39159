export { BearerToken } from './bearer-token.ts';
export { isExpired, isRefreshDue, mustWaitForRefresh, refreshDueAt, type ExpiryFacts } from './refresh-window.ts';
export { TokenService, type LoadedSession } from './token-service.ts';
export { OpenTokenSet, SEAL_FIELDS, openTokenSet, sealRefreshed, sealTokenSet } from './token-set.ts';
export type { RefreshOutcome, TokenConfig, TokenMetrics, TokenServiceOptions } from './types.ts';
export { failureOutcome } from './refresher.ts';
export { resourcesOf, routeTokenTarget, type RouteTokenTarget } from './route-token.ts';
