import type { Logger } from 'pino';
import type { ProxiedRequest } from './proxied-request.ts';

/**
 * What a proxied request logs besides its access line (a tampered cookie, a CSRF rejection, an
 * unexpected error): the root logger's line with the request id and session tag added to the
 * fields. Built only when something is logged, so a request that logs nothing makes no child
 * logger and no object for it.
 */
export type RequestLog = Pick<Logger, 'debug' | 'warn' | 'error'>;

export function requestLog(logger: Logger, request: ProxiedRequest): RequestLog {
  const fields = () => (request.session === undefined ? { requestId: request.requestId } : { requestId: request.requestId, session: request.session.tag });
  return {
    debug: ((object: object, message?: string) => logger.debug({ ...fields(), ...object }, message)) as Logger['debug'],
    warn: ((object: object, message?: string) => logger.warn({ ...fields(), ...object }, message)) as Logger['warn'],
    error: ((object: object, message?: string) => logger.error({ ...fields(), ...object }, message)) as Logger['error'],
  };
}
