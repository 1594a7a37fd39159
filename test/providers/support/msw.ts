import { setupServer, type SetupServer } from 'msw/node';
import type { RequestHandler } from 'msw';

/**
 * msw for the providers that cannot run here (Google, GitHub, Discord). Requests to loopback go
 * to the network untouched (real servers on 127.0.0.1); any other unhandled request fails loudly
 * instead of leaving the machine.
 */
export interface MockProviders {
  server: SetupServer;
  /** Requests no handler answered (msw answers them 500); a test expects this to stay empty. */
  unhandled: string[];
  close(): void;
}

export function mockServer(...handlers: RequestHandler[]): MockProviders {
  const server = setupServer(...handlers);
  const unhandled: string[] = [];
  server.listen({
    onUnhandledFrame({ frame, defaults }) {
      const data = frame.data as { request?: Request };
      const url = data.request ? new URL(data.request.url) : undefined;
      if (url && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]')) return;
      const where = url ? `${data.request?.method} ${url.origin}${url.pathname}` : 'a non-HTTP frame';
      unhandled.push(where);
      defaults.error();
      throw new Error(`unhandled request: ${where}`);
    },
  });
  return { server, unhandled, close: () => server.close() };
}

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

/** Keeps every request a handler saw, with its body read once. */
export class RequestLog {
  readonly requests: RecordedRequest[] = [];

  async record(request: Request): Promise<RecordedRequest> {
    const recorded = { method: request.method, url: new URL(request.url), headers: request.headers, body: await request.clone().text() };
    this.requests.push(recorded);
    return recorded;
  }

  last(): RecordedRequest {
    const request = this.requests.at(-1);
    if (!request) throw new Error('no request was recorded');
    return request;
  }

  clear(): void {
    this.requests.length = 0;
  }
}

export function formOf(request: RecordedRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(request.body));
}

export function basicCredentials(request: RecordedRequest): [string, string] | undefined {
  const header = request.headers.get('authorization');
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}
