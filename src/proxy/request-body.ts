import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { BadRequestError, RequestTimeoutError } from '../errors.ts';
import type { Reservation } from './replay-budget.ts';

/**
 * The request body, buffered when it fits the route's replay limit and the process-wide replay
 * budget (so the request can be sent a second time after an upstream 401), otherwise a stream
 * that forwards what was read so far and then the rest of the request, never replayed.
 *
 * A declared `Content-Length` over the limit is streamed at once without reading; a body of
 * unknown length (chunked) is read until it ends or passes the limit. While buffering, a client
 * that sends nothing for `idleTimeoutMs` gets 408 REQUEST_TIMEOUT and what it sent is dropped at
 * once (not when Node's request timeout fires minutes later). The bytes buffered are counted in
 * `reservation`, which the caller releases when the exchange is over.
 */
export type RequestBody =
  /** `framed`: the request declared a body (Content-Length or chunked), even an empty one. */
  | { replayable: true; bytes: Buffer; framed: boolean }
  /** `overBudget`: it would have fit the route's limit, but the replay budget was spent. */
  | { replayable: false; stream: Readable; overBudget?: boolean };

export interface BodyLimits {
  /** The route's replayBodyLimit. */
  limit: number;
  /** proxy.bodyIdleTimeout. */
  idleTimeoutMs: number;
  reservation: Reservation;
}

const NO_BODY: RequestBody = { replayable: true, bytes: Buffer.alloc(0), framed: false };

export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

export function readRequestBody(req: IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  const { limit, idleTimeoutMs, reservation } = limits;
  if (!hasBody(req)) return Promise.resolve(NO_BODY);
  const declared = Number(req.headers['content-length']);
  if (req.headers['transfer-encoding'] === undefined && Number.isFinite(declared) && declared > limit) {
    return Promise.resolve({ replayable: false, stream: req });
  }
  return new Promise<RequestBody>((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(onIdle, idleTimeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const streamOn = (overBudget: boolean) => {
      req.pause();
      cleanup();
      reservation.release();
      resolve({ replayable: false, stream: prefixed(chunks, req), ...(overBudget ? { overBudget } : {}) });
    };
    function onData(chunk: Buffer): void {
      if (size + chunk.length > limit) {
        chunks.push(chunk);
        return streamOn(false);
      }
      if (!reservation.grow(chunk.length)) {
        chunks.push(chunk);
        return streamOn(true);
      }
      chunks.push(chunk);
      size += chunk.length;
      timer.refresh();
    }
    function onEnd(): void {
      cleanup();
      resolve({ replayable: true, bytes: Buffer.concat(chunks, size), framed: true });
    }
    function onError(err: Error): void {
      drop();
      reject(new BadRequestError('The request body could not be read', { cause: err }));
    }
    function onClose(): void {
      if (req.complete) return;
      drop();
      reject(new BadRequestError('The client closed the request before its body ended'));
    }
    function onIdle(): void {
      drop();
      req.pause();
      reject(new RequestTimeoutError());
    }
    function drop(): void {
      cleanup();
      chunks = [];
      reservation.release();
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** A stream of the chunks already read, then the rest of `rest`. */
function prefixed(chunks: readonly Buffer[], rest: Readable): Readable {
  const out = new PassThrough();
  for (const chunk of chunks) out.write(chunk);
  rest.on('error', (err) => out.destroy(err));
  rest.pipe(out);
  return out;
}
