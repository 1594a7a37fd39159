import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * Streams the upstream response to the client: status, the allowed headers (merged with any the
 * gateway already set on `res`), then the body chunk by chunk as it arrives, so Server-Sent
 * Events flow. A response of unknown length (an event stream, a chunked download) has its head
 * flushed at once, before the first chunk exists. If either side breaks, both are destroyed:
 * the client sees a cut connection, never a silently truncated "complete" body, and a client
 * that goes away closes the upstream request (its socket is not returned to the pool).
 *
 * `pipe` with explicit listeners rather than `stream.pipeline`: pipeline builds an
 * AbortController per call and aborts it when done, which creates a DOMException (with a
 * stack) for every proxied response.
 */
export function streamToClient(res: ServerResponse, upstream: IncomingMessage, headers: OutgoingHttpHeaders): Promise<void> {
  res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, headers);
  if (upstream.headers['content-length'] === undefined) res.flushHeaders();
  return new Promise<void>((resolve) => {
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      upstream.off('error', broken);
      upstream.off('close', upstreamClosed);
      res.off('error', broken);
      res.off('close', clientClosed);
      res.off('finish', settle);
      resolve();
    };
    function broken(): void {
      upstream.unpipe(res);
      upstream.destroy();
      res.destroy();
      settle();
    }
    // The upstream connection ended before the body did.
    function upstreamClosed(): void {
      if (!upstream.complete) broken();
    }
    // The client went away before the whole body was written.
    function clientClosed(): void {
      if (res.writableFinished) settle();
      else broken();
    }
    upstream.on('error', broken);
    upstream.on('close', upstreamClosed);
    res.on('error', broken);
    res.on('close', clientClosed);
    res.on('finish', settle);
    upstream.pipe(res);
  });
}
