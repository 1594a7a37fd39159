export { createForwardAuthApp, forwardAuthOnMainListener } from './app.ts';
export type { ForwardAuthDeps } from './deps.ts';
export { loginHint, originalRequest, type OriginalRequest } from './original-request.ts';
export { carriesSharedSecret, isVerifyPath } from './shared-secret.ts';
export { verifySteps, type ForwardAuthState } from './verify.ts';
