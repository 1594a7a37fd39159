export { cookieKeys, cookiePolicy, createCookies, type CookiePolicy, type GatewayCookies } from './cookies.ts';
export { absoluteExpiry, idleExpiry, sessionTtl, type LifetimeInput } from './lifetime.ts';
export { loadSession, type SessionLoaderOptions } from './load-session.ts';
export { lookupSession, type LookupDeps, type SessionLookup } from './lookup-session.ts';
export { sessionFromRequest, type RequestSessionBundle } from './session-from-request.ts';
export { isSessionId, newSessionId, randomToken } from './session-id.ts';
export { SignedCookie, type CookieRead, type SignedCookieOptions } from './signed-cookie.ts';
