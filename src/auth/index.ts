export { createAuthRouter } from './router.ts';
export type { AuthDeps } from './deps.ts';
export { Revoker, type RevokerOptions } from './revoker.ts';
export { SEALED_FIELDS, sealTokenSet } from './sealed-tokens.ts';
export { safeReturnTo } from './return-to.ts';
export type { LogoutAnswer } from './logout.ts';
export type { SessionInfo } from './session-info.ts';
