import type { Context } from 'koa';
import type { Config } from '../config/schema.ts';
import { sameSecret } from '../crypto/same-secret.ts';

/**
 * The shared secret that the ingress adds to every verify request. Compared in constant time
 * (both sides hashed first, so neither the length nor a prefix leaks). When no secret is
 * configured every request passes: the verify endpoint then lives on its own listener.
 */
export function carriesSharedSecret(ctx: Context, forwardAuth: Config['forwardAuth']): boolean {
  if (forwardAuth.sharedSecret === undefined) return true;
  const sent = ctx.request.headers[forwardAuth.secretHeader.toLowerCase()];
  if (typeof sent !== 'string') return false;
  return sameSecret(sent, forwardAuth.sharedSecret);
}

/** The verify path itself, or below it (Envoy appends the original path). */
export function isVerifyPath(path: string, verifyPath: string): boolean {
  return path === verifyPath || path.startsWith(verifyPath.endsWith('/') ? verifyPath : `${verifyPath}/`);
}
