import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/**
 * One request written byte for byte on a fresh TCP connection, so that a request target reaches
 * the gateway exactly as written (no client library normalises or refuses it). Resolves with the
 * status line's code and the raw head once the response head has arrived (the socket is then
 * closed), or status 0 when the connection closed without a response.
 */

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

export function rawRequest(baseUrl: string, target: string, headers: Record<string, string> = {}, options: { method?: string; upgrade?: boolean } = {}): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const all: Record<string, string> = { host: url.host, connection: 'close', ...headers };
  if (options.upgrade) {
    Object.assign(all, { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') });
  }
  const lines = [`${options.method ?? 'GET'} ${target} HTTP/1.1`, ...Object.entries(all).map(([name, value]) => `${name}: ${value}`), '', ''];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let data = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no response to ${target}`)), 10_000);
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) return reject(err);
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end === -1 ? '' : text.slice(end + 4) });
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      // A 101 has no body; otherwise wait for the declared body (or the close).
      if (text.startsWith('HTTP/1.1 101') || (length !== undefined && data.length >= end + 4 + Number(length))) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err) => finish(err));
    socket.write(lines.join('\r\n'), 'latin1');
  });
}
