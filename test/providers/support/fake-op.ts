import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSigner, nowSeconds, type TestSigner } from './keys.ts';

/**
 * A tiny OpenID Provider on 127.0.0.1:0 whose answers each test scripts: discovery, JWKS, token,
 * revocation and userinfo endpoints, with ID tokens signed by a key the test holds. For
 * unit-level checks (bad iss, expired, wrong nonce, ...) that a conforming OP never produces.
 */

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  form: Record<string, string>;
}

export interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  delayMs?: number;
  /** Drop the connection without answering. */
  destroy?: boolean;
}

export type FakeRoute = (request: FakeRequest) => FakeAnswer | Promise<FakeAnswer>;

export class FakeOpenIdProvider {
  readonly issuer: string;
  readonly signer: TestSigner;
  readonly requests: FakeRequest[] = [];
  readonly routes: Map<string, FakeRoute>;
  readonly #server: Server;

  private constructor(server: Server, signer: TestSigner) {
    const { port } = server.address() as AddressInfo;
    this.issuer = `http://127.0.0.1:${port}`;
    this.signer = signer;
    this.#server = server;
    this.routes = this.defaultRoutes();
  }

  static async start(): Promise<FakeOpenIdProvider> {
    const signer = await createSigner();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const op = new FakeOpenIdProvider(server, signer);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = new URL(req.url ?? '/', op.issuer).pathname;
        const request: FakeRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, form: Object.fromEntries(new URLSearchParams(body)) };
        op.requests.push(request);
        const route: FakeRoute = op.routes.get(`${request.method} ${path}`) ?? (() => ({ status: 404, body: { error: 'not_found' } }));
        void Promise.resolve(route(request)).then(async (answer) => {
          if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
          if (answer.destroy) return req.socket.destroy();
          const text = typeof answer.body === 'string' ? answer.body : answer.body === undefined ? '' : JSON.stringify(answer.body);
          const type = typeof answer.body === 'string' ? 'text/html' : 'application/json';
          if (res.destroyed) return;
          res.writeHead(answer.status ?? 200, { 'content-type': type, ...answer.headers });
          res.end(text);
        });
      });
    });
    return op;
  }

  metadata(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      authorization_endpoint: `${this.issuer}/authorize`,
      token_endpoint: `${this.issuer}/token`,
      jwks_uri: `${this.issuer}/jwks`,
      userinfo_endpoint: `${this.issuer}/userinfo`,
      revocation_endpoint: `${this.issuer}/revoke`,
      end_session_endpoint: `${this.issuer}/logout`,
      id_token_signing_alg_values_supported: ['RS256'],
    };
  }

  defaultRoutes(): Map<string, FakeRoute> {
    return new Map<string, FakeRoute>([
      ['GET /.well-known/openid-configuration', () => ({ body: this.metadata() })],
      ['GET /jwks', () => ({ body: this.signer.jwks })],
      ['POST /token', () => ({ body: { access_token: 'at-fake-1', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-fake-1' } })],
      ['POST /revoke', () => ({ status: 200 })],
    ]);
  }

  /** Sets one route; `reset()` restores the defaults. */
  on(route: string, answer: FakeRoute): void {
    this.routes.set(route, answer);
  }

  reset(): void {
    this.requests.length = 0;
    this.routes.clear();
    for (const [route, answer] of this.defaultRoutes()) this.routes.set(route, answer);
  }

  requestsTo(path: string): FakeRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Claims of a valid ID token for `clientId`, to be altered by a test. */
  idTokenClaims(clientId: string, nonce: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const now = nowSeconds();
    return { iss: this.issuer, aud: clientId, sub: 'user-42', iat: now, exp: now + 300, nonce, ...extra };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
