export { BearerToken } from './bearer-token.ts';
export { TokenService } from './token-service.ts';
export { SEAL_FIELDS, openTokenSet } from './token-set.ts';
export type { RefreshOutcome } from './types.ts';
export { refreshOutcomeOf } from './outcome.ts';
export { resourcesOf, routeTokenTarget, sendsLinkedToken, type RouteTokenTarget } from './route-token.ts';
