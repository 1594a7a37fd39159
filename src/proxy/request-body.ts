import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { BadRequestError } from '../errors.ts';

/**
 * The request body, buffered when it fits the route's replay limit (so the request can be sent a
 * second time after an upstream 401), otherwise a stream that forwards what was read so far and
 * then the rest of the request, never replayed.
 *
 * A declared `Content-Length` over the limit is streamed at once without reading; a body of
 * unknown length (chunked) is read until it ends or passes the limit.
 */
export type RequestBody =
  /** `framed`: the request declared a body (Content-Length or chunked), even an empty one. */
  | { replayable: true; bytes: Buffer; framed: boolean }
  | { replayable: false; stream: Readable };

const NO_BODY: RequestBody = { replayable: true, bytes: Buffer.alloc(0), framed: false };

export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

export function readRequestBody(req: IncomingMessage, limit: number): Promise<RequestBody> {
  if (!hasBody(req)) return Promise.resolve(NO_BODY);
  const declared = Number(req.headers['content-length']);
  if (req.headers['transfer-encoding'] === undefined && Number.isFinite(declared) && declared > limit) {
    return Promise.resolve({ replayable: false, stream: req });
  }
  return new Promise<RequestBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        req.pause();
        cleanup();
        resolve({ replayable: false, stream: prefixed(chunks, req) });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ replayable: true, bytes: Buffer.concat(chunks, size), framed: true });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new BadRequestError('The request body could not be read', { cause: err }));
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(new BadRequestError('The client closed the request before its body ended'));
    };
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
