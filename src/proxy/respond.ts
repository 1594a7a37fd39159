import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';

/**
 * Streams the upstream response to the client: status, the allowed headers (merged with any the
 * gateway already set on `res`), then the body chunk by chunk as it arrives, so Server-Sent
 * Events flow. A response of unknown length (an event stream, a chunked download) has its head
 * flushed at once, before the first chunk exists. If either side breaks, both are destroyed:
 * the client sees a cut connection, never a silently truncated "complete" body.
 */
export function streamToClient(res: ServerResponse, upstream: IncomingMessage, headers: OutgoingHttpHeaders): Promise<void> {
  res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, headers);
  if (upstream.headers['content-length'] === undefined) res.flushHeaders();
  return new Promise<void>((resolve) => {
    pipeline(upstream, res, () => resolve());
  });
}
