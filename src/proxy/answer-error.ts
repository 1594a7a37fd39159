import { errorAnswer } from '../http/error-handler.ts';
import type { ProxiedRequest } from './proxied-request.ts';
import type { RequestLog } from './request-log.ts';
import { withGatewayHeaders } from './response-head.ts';

/**
 * The error-to-response step of the proxied-route handler, with the rules of the Koa error
 * middleware (src/http/error-handler.ts): a GatewayError with `expose` answers its status, code
 * and message as JSON; anything else is an opaque 500 with the request id, logged once. Once the
 * response has started nothing can be answered: the error is logged and the response is cut.
 * A client that is already gone gets nothing.
 */
export function answerError(request: ProxiedRequest, err: unknown, log: () => RequestLog): void {
  const { req, res } = request;
  if (res.destroyed || req.socket.destroyed) return;
  if (res.headersSent) {
    log().warn({ event: 'error_after_response_started', err }, 'error after the response started');
    res.destroy();
    return;
  }
  const answer = errorAnswer(err, request.requestId);
  if (answer.logged) log().error({ event: 'request_failed', err }, 'request failed');
  const body = JSON.stringify(answer.body);
  const headers = withGatewayHeaders(request, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...answer.headers,
  });
  res.writeHead(answer.status, headers);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}
