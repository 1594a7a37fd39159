import type { Worker } from 'node:cluster';
import { Socket } from 'node:net';
import { WorkerExitedError } from '../../errors.ts';

/**
 * Connections a cluster primary handed to a worker that died before taking them.
 *
 * With node:cluster's round-robin scheduling (the default on Linux) the primary accepts every
 * connection and sends its handle to a worker (`newconn`); it closes its own copy only when
 * the worker acknowledges it. A worker killed (`kill -9`, OOM) between the two never
 * acknowledges, and Node neither closes nor re-routes that handle: the client's connection
 * stays open with nobody to serve it until the client gives up (30 s for many clients).
 *
 * `watchHandoffs` follows a worker's handoffs (the `newconn` messages sent with a handle and
 * the worker's acknowledgements) and, once the worker has exited, answers each connection it
 * never took with 503 WORKER_EXITED, `Retry-After: 1` and `Connection: close`. The worker had
 * not read a byte of it, so the request is safe to retry. This follows Node's internal cluster
 * messages (`cmd: 'NODE_CLUSTER'`); if they ever change shape, nothing is tracked and Node's
 * own behaviour is left as it was.
 */

interface ClusterInternalMessage {
  cmd?: unknown;
  act?: unknown;
  seq?: unknown;
  ack?: unknown;
}

type Send = (message: unknown, handle?: unknown, ...rest: unknown[]) => boolean;

export interface Handoffs {
  /** Answers every connection the exited worker never took; returns how many. */
  answerOrphans(): number;
}

export function watchHandoffs(worker: Worker): Handoffs {
  const pending = new Map<unknown, object>();
  const child = worker.process as unknown as { send: Send; on(event: 'internalMessage', listener: (message: unknown) => void): void };
  const send = child.send;
  child.send = function sendTracked(this: unknown, message: unknown, handle?: unknown, ...rest: unknown[]): boolean {
    const internal = message as ClusterInternalMessage | null;
    if (internal?.cmd === 'NODE_CLUSTER' && internal.act === 'newconn' && typeof handle === 'object' && handle !== null) {
      pending.set(internal.seq, handle);
    }
    return send.call(this, message, handle, ...rest);
  };
  child.on('internalMessage', (message: unknown) => {
    const internal = message as ClusterInternalMessage | null;
    if (internal?.cmd === 'NODE_CLUSTER' && internal.ack !== undefined) pending.delete(internal.ack);
  });
  return {
    answerOrphans() {
      const handles = [...pending.values()];
      pending.clear();
      for (const handle of handles) answer(handle);
      return handles.length;
    },
  };
}

function answer(handle: object): void {
  const error = new WorkerExitedError();
  const body = JSON.stringify({ error: error.message, code: error.code });
  let socket: Socket;
  try {
    socket = new Socket({ handle } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    // Not a stream handle after all: nothing to answer on.
    return;
  }
  socket.on('error', () => socket.destroy());
  socket.setTimeout(5_000, () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${error.status} Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Retry-After: ${error.retryAfter ?? 1}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}
