import { createHash, randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { Socket } from 'node:net';
import { waitFor } from '../support/wait.ts';

/**
 * Both ends of a WebSocket tunnel through the gateway, on raw sockets so a test sees every byte:
 * an upstream that completes the RFC 6455 handshake and keeps each socket (with when it closed),
 * and a client that reads the frames the gateway delivers.
 */

export interface UpstreamSide {
  url: string;
  /** The upstream sockets in handshake order. */
  sockets: Socket[];
  /** While true, handshakes wait for `release()` before the 101. */
  hold: boolean;
  release(): void;
  /** Resolves once the gateway closed its side of the upstream's `index`-th socket (the upstream read its end). */
  closed(index: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebSocketUpstream(): Promise<UpstreamSide> {
  const sockets: Socket[] = [];
  const ended = new WeakSet<Socket>();
  const held: (() => void)[] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  const side: UpstreamSide = {
    url: '',
    sockets,
    hold: false,
    release() {
      for (const answer of held.splice(0)) answer();
    },
    closed: (index, timeoutMs = 5000) => waitFor(`upstream socket ${index} ended`, () => sockets[index] !== undefined && ended.has(sockets[index]), timeoutMs),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  server.on('upgrade', (req, socket: Socket) => {
    sockets.push(socket);
    socket.on('error', () => socket.destroy());
    // As a WebSocket server does when its peer goes away: end its own side too.
    socket.on('end', () => {
      ended.add(socket);
      socket.end();
    });
    socket.resume();
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    const answer = () => socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join('\r\n'));
    if (side.hold) held.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  side.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return side;
}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface ClientSide {
  socket: Socket;
  /** Every complete frame received so far. */
  frames: Frame[];
  /** performance.now() when the socket closed. */
  closedAt: number | undefined;
  /** Resolves with the close frame's code and reason once the socket has closed. */
  closed(timeoutMs?: number): Promise<{ code: number | undefined; reason: string | undefined; at: number }>;
}

export function openWebSocket(url: string, headers: Record<string, string>): Promise<ClientSide> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      let data = head;
      const side: ClientSide = {
        socket,
        frames: [],
        closedAt: undefined,
        async closed(timeoutMs = 5000) {
          await waitFor('client socket closed', () => side.closedAt !== undefined, timeoutMs);
          const close = side.frames.find((frame) => frame.opcode === 0x8);
          return {
            code: close === undefined ? undefined : close.payload.readUInt16BE(0),
            reason: close?.payload.subarray(2).toString('utf8'),
            at: side.closedAt!,
          };
        },
      };
      const parse = () => {
        for (;;) {
          const frame = readFrame(data);
          if (frame === undefined) return;
          side.frames.push(frame.frame);
          data = data.subarray(frame.length);
        }
      };
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        parse();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        side.closedAt = performance.now();
      });
      parse();
      resolve(side);
    });
    req.on('response', (res) => reject(new Error(`handshake answered ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

/** An unmasked server frame (payload under 64 KiB). */
export function serverFrame(opcode: number, payload: Buffer): Buffer {
  const header = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

function readFrame(data: Buffer): { frame: Frame; length: number } | undefined {
  if (data.length < 2) return undefined;
  const short = data[1]! & 0x7f;
  const [offset, length] = short === 126 ? [4, data.length >= 4 ? data.readUInt16BE(2) : Infinity] : [2, short];
  if (data.length < offset + length) return undefined;
  return { frame: { fin: (data[0]! & 0x80) !== 0, opcode: data[0]! & 0x0f, payload: data.subarray(offset, offset + length) }, length: offset + length };
}
