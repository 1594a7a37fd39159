import { describe, expect, it } from 'vitest';
import { closeFrame, FrameBoundaries } from '../../src/proxy/websocket-frames.ts';

function frame(opcode: number, length: number, masked = false): Buffer {
  const lengthBytes = length < 126 ? Buffer.from([length]) : length < 65536 ? Buffer.from([126, length >> 8, length & 0xff]) : Buffer.concat([Buffer.from([127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(length)); return b; })()]);
  if (masked) lengthBytes[0]! |= 0x80;
  return Buffer.concat([Buffer.from([0x80 | opcode]), lengthBytes, masked ? Buffer.alloc(4, 7) : Buffer.alloc(0), Buffer.alloc(length, 0x61)]);
}

describe('frame boundaries of a WebSocket byte stream', () => {
  it('are found for 7-bit, 16-bit and 64-bit lengths and masked frames, however the bytes are split', () => {
    const stream = Buffer.concat([frame(0x1, 5), frame(0x2, 300), frame(0x2, 70_000), frame(0x9, 0), frame(0x1, 10, true)]);
    for (const size of [1, 2, 3, 7, 125, 4096, stream.length]) {
      const boundaries = new FrameBoundaries();
      for (let offset = 0; offset < stream.length; offset += size) boundaries.feed(stream.subarray(offset, offset + size));
      expect(boundaries.atBoundary, `chunks of ${size}`).toBe(true);
    }
    const partial = new FrameBoundaries();
    partial.feed(stream.subarray(0, 7 + 4 + 100));
    expect(partial.atBoundary).toBe(false);
    const header = new FrameBoundaries();
    header.feed(frame(0x2, 300).subarray(0, 3));
    expect(header.atBoundary).toBe(false);
  });

  it('stop at the end of the frame under way when asked', () => {
    const boundaries = new FrameBoundaries();
    const first = frame(0x2, 300);
    boundaries.feed(first.subarray(0, 100));
    const rest = Buffer.concat([first.subarray(100), frame(0x1, 5)]);
    expect(boundaries.feed(rest, true)).toBe(first.length - 100);
    expect(boundaries.atBoundary).toBe(true);
  });

  it('a close frame is FIN, opcode 8, unmasked, with the code and reason', () => {
    expect([...closeFrame(1008, 'session ended')]).toEqual([0x88, 15, 0x03, 0xf0, ...Buffer.from('session ended')]);
    expect(() => closeFrame(1008, 'x'.repeat(124))).toThrow(RangeError);
  });
});
