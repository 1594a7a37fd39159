import type { Socket } from 'node:net';
import { closeFrame, FrameBoundaries, POLICY_VIOLATION } from './websocket-frames.ts';

/**
 * One open WebSocket tunnel: the client socket and the upstream socket http-proxy-3 piped
 * together. The upstream-to-client bytes are followed frame by frame (headers only), so that
 * `close` can end the tunnel with a close frame the client can read: it stops both pipes, lets
 * the frame under way (if any) finish for up to `finishFrameMs`, writes a 1008 close frame with
 * the reason, ends and then destroys the client socket, and destroys the upstream socket. An
 * upstream that does not finish its frame in time gets both sockets destroyed without a frame.
 */

/** How long a client that does not read is given to take the close frame before its socket is destroyed. */
const CLIENT_LINGER_MS = 2000;

export class Tunnel {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly #boundaries = new FrameBoundaries();
  readonly #finishFrameMs: number;
  #closing = false;
  #reason = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(client: Socket, upstream: Socket, finishFrameMs: number) {
    this.client = client;
    this.upstream = upstream;
    this.#finishFrameMs = finishFrameMs;
    // Beside http-proxy-3's pipe, which was attached first: both see every chunk, in order.
    upstream.on('data', (chunk: Buffer) => this.#onUpstreamData(chunk));
  }

  /** Ends the tunnel with close code 1008 and `reason` (at most 123 bytes). Once only. */
  close(reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#reason = reason;
    this.client.unpipe(this.upstream);
    this.upstream.unpipe(this.client);
    if (this.client.destroyed || !this.client.writable) return this.#destroy();
    if (this.#boundaries.atBoundary) return this.#sendClose();
    // The upstream is in the middle of a frame: forward the rest of it only, then close.
    this.#timer = setTimeout(() => this.#destroy(), this.#finishFrameMs);
    this.#timer.unref();
    this.upstream.resume();
  }

  #onUpstreamData(chunk: Buffer): void {
    if (!this.#closing) {
      this.#boundaries.feed(chunk);
      return;
    }
    if (this.#boundaries.atBoundary) return;
    const used = this.#boundaries.feed(chunk, true);
    this.client.write(chunk.subarray(0, used));
    if (this.#boundaries.atBoundary) this.#sendClose();
  }

  #sendClose(): void {
    clearTimeout(this.#timer);
    const { client } = this;
    client.end(closeFrame(POLICY_VIOLATION, this.#reason), () => client.destroy());
    const linger = setTimeout(() => client.destroy(), CLIENT_LINGER_MS);
    linger.unref();
    client.once('close', () => clearTimeout(linger));
    this.upstream.destroy();
  }

  #destroy(): void {
    clearTimeout(this.#timer);
    this.client.destroy();
    this.upstream.destroy();
  }
}
