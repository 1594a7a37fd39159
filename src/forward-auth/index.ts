export { createForwardAuthApp, forwardAuthOnMainListener } from './app.ts';
export { isVerifyPath } from './shared-secret.ts';
