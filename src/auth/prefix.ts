/** The path prefix of the gateway's own routes (src/auth/router.ts); no upstream route may use it. */
export const AUTH_PREFIX = '/auth';

/** Whether `path` is the gateway's own: `/auth` itself or anything under `/auth/`. */
export function isAuthPath(path: string): boolean {
  return path === AUTH_PREFIX || path.startsWith(`${AUTH_PREFIX}/`);
}
