export { createForwardAuthApp, forwardAuthOnMainListener } from './app.ts';
export type { ForwardAuthDeps } from './deps.ts';
export { isVerifyPath } from './shared-secret.ts';
