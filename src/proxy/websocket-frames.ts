/**
 * Just enough of RFC 6455 framing for the gateway to end a tunnel cleanly: where the frames the
 * upstream sends end (so a close frame is never written into the middle of one), and the close
 * frame itself. Payloads are never read or buffered: only frame headers (2 to 14 bytes) are.
 */

/** RFC 6455 7.4.1: the endpoint received a message that violates its policy. */
export const POLICY_VIOLATION = 1008;

/** A complete, unmasked, server-to-client close frame (FIN, opcode 0x8) with `code` and `reason`. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  // A control frame's payload is at most 125 bytes: 2 for the code, the rest for the reason.
  if (text.length > 123) throw new RangeError('a close reason is at most 123 bytes');
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/**
 * Follows the frame boundaries of one direction of a WebSocket byte stream. `feed` takes the
 * bytes in the order they were sent; `atBoundary` is true when they end exactly where a frame ends.
 */
export class FrameBoundaries {
  /** Header bytes of the frame being read, while its header is incomplete. */
  #header = Buffer.alloc(14);
  #headerBytes = 0;
  /** Payload bytes of the current frame still to come. */
  #remaining = 0;

  get atBoundary(): boolean {
    return this.#headerBytes === 0 && this.#remaining === 0;
  }

  /**
   * Consumes `chunk`; with `stopAtBoundary`, only up to the end of the frame under way. Returns
   * how many bytes were consumed (all of them without `stopAtBoundary`, or when no frame ends in it).
   */
  feed(chunk: Buffer, stopAtBoundary = false): number {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset);
        this.#remaining -= take;
        offset += take;
      } else {
        this.#header[this.#headerBytes++] = chunk[offset++]!;
        const need = headerLength(this.#header, this.#headerBytes);
        if (need !== undefined && this.#headerBytes === need) {
          this.#remaining = payloadLength(this.#header);
          this.#headerBytes = 0;
        }
      }
      if (stopAtBoundary && this.atBoundary) return offset;
    }
    return offset;
  }
}

/** The full header length once its first two bytes are known. */
function headerLength(header: Buffer, have: number): number | undefined {
  if (have < 2) return undefined;
  const short = header[1]! & 0x7f;
  const masked = (header[1]! & 0x80) !== 0;
  return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (masked ? 4 : 0);
}

function payloadLength(header: Buffer): number {
  const short = header[1]! & 0x7f;
  if (short === 126) return header.readUInt16BE(2);
  if (short === 127) return Number(header.readBigUInt64BE(2));
  return short;
}
