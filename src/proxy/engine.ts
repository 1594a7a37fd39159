import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * What the proxied-route handler needs from a forwarding engine: send one attempt upstream and,
 * when the response head arrives, either stream the response to the client or discard it (an
 * upstream 401 that will be replayed). The decision is taken synchronously on the status, so no
 * body byte is buffered while it is made.
 */

export interface Attempt {
  upstream: URL;
  method: string;
  /** Path and query on the upstream. */
  path: string;
  /** Headers for the upstream (Host is the engine's business). */
  headers: OutgoingHttpHeaders;
  /** Buffered bytes (replayable), the request stream, or nothing. */
  body: Buffer | Readable | null;
  /** Time allowed until the upstream's response head: past it, 504. */
  timeoutMs: number;
}

export interface ClientSide {
  req: IncomingMessage;
  res: ServerResponse;
  /** The response headers for the client, from the upstream's. */
  responseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders;
  /** Told the status when a response head that goes to the client arrives (not a discarded one). */
  onHead(status: number): void;
}

/** `true`: stream the response to the client; `false`: hold it (see HeldResponse). */
export type Deliver = (status: number) => boolean;

/**
 * A response that was not delivered (a 401 before the replay decision), held so that it can
 * still go to the client as it is when no replay happens (the forced-refresh cooldown). The body
 * is held up to HOLD_LIMIT bytes; past that it is drained and `complete` is false.
 */
export interface HeldResponse {
  status: number;
  statusMessage: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer[];
  complete: boolean;
}

/** Bytes of a held response body kept (an upstream's 401 body is small). */
export const HOLD_LIMIT = 64 * 1024;

export type ExchangeResult = { status: number; delivered: true } | { status: number; delivered: false; held: HeldResponse };

export interface ForwardingEngine {
  /**
   * Resolves once the exchange is over: a delivered response was streamed to the end (or the
   * stream broke and both sides were cut), a held one was read. Rejects only before the
   * response head: 504 UpstreamTimeoutError, 502 UpstreamUnavailableError (also when the
   * client went away; the caller then answers nothing).
   */
  exchange(attempt: Attempt, client: ClientSide, deliver: Deliver): Promise<ExchangeResult>;
  /** Destroys every upstream connection. */
  close(): Promise<void>;
}
