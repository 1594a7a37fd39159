import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Attempt, ClientSide, Deliver, ExchangeResult, ForwardingEngine } from './engine.ts';
import { Forwarder } from './forwarder.ts';
import { streamToClient } from './respond.ts';
import { UpstreamAgents } from './upstream-agents.ts';

/** Forwarding with http-proxy-3 (the engine before undici), for the side-by-side measurement. */
export class HttpProxyEngine implements ForwardingEngine {
  readonly #agents = new UpstreamAgents();
  readonly #forwarder: Forwarder;

  constructor(logger?: Logger) {
    this.#forwarder = new Forwarder(this.#agents, logger);
  }

  async exchange(attempt: Attempt, client: ClientSide, deliver: Deliver): Promise<ExchangeResult> {
    const headers = { ...attempt.headers };
    if (attempt.body instanceof Readable && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
    const response = await this.#forwarder.send(client.req, client.res, {
      upstream: attempt.upstream,
      path: attempt.path,
      headers,
      body: attempt.body ?? Buffer.alloc(0),
      timeoutMs: attempt.timeoutMs,
    });
    const status = response.statusCode ?? 502;
    client.onHead(status);
    if (!deliver(status)) {
      discard(response);
      return { status, delivered: false };
    }
    await streamToClient(client.res, response, client.responseHeaders(response.headers));
    return { status, delivered: true };
  }

  async close(): Promise<void> {
    this.#agents.close();
  }
}

function discard(response: IncomingMessage | Readable): void {
  response.resume();
  response.on('error', () => response.destroy());
}
