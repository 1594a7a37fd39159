export { createAuthRouter } from './router.ts';
export type { AuthDeps } from './deps.ts';
export { Revoker, type RevocableTokens, type RevokerOptions } from './revoker.ts';
export { safeReturnTo } from './return-to.ts';
export type { LogoutAnswer } from './logout.ts';
export type { SessionInfo } from './session-info.ts';
export type { ListedSession, SessionList } from './list-sessions.ts';
export type { EndedSession } from './end-listed-session.ts';
