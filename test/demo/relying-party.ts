import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { closeServer, listenOnLoopback } from '../../demo/listen.ts';
import type { OpenIdClientOptions } from '../../demo/op.ts';

/**
 * A throwaway relying party for the fixture's own tests: it starts the authorization-code +
 * PKCE flow, records what comes back to its callback and its back-channel logout endpoint,
 * and calls the provider's token and revocation endpoints with its client credentials.
 */

export interface CallbackResult {
  code: string | undefined;
  state: string | undefined;
  iss: string | undefined;
  error: string | undefined;
}

export interface TokenEndpointAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export interface TestRelyingParty {
  readonly url: string;
  readonly client: OpenIdClientOptions;
  /** The last login started at /login (state, PKCE verifier, nonce). */
  readonly transaction: { state: string; verifier: string; nonce: string } | undefined;
  readonly callbacks: CallbackResult[];
  readonly logoutTokens: string[];
  useIssuer(issuer: string): void;
  exchangeCode(code: string, verifier?: string): Promise<TokenEndpointAnswer>;
  refresh(refreshToken: string): Promise<TokenEndpointAnswer>;
  revoke(token: string, hint?: 'access_token' | 'refresh_token'): Promise<number>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startRelyingParty(clientId = 'test-rp'): Promise<TestRelyingParty> {
  const clientSecret = randomBytes(16).toString('base64url');
  const callbacks: CallbackResult[] = [];
  const logoutTokens: string[] = [];
  let transaction: TestRelyingParty['transaction'];
  let issuer: string | undefined;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/login' && issuer !== undefined) {
      transaction = { state: randomBytes(16).toString('base64url'), verifier: randomBytes(32).toString('base64url'), nonce: randomBytes(16).toString('base64url') };
      const auth = new URL('/auth', issuer);
      auth.search = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: `${origin}/callback`,
        scope: url.searchParams.get('scope') ?? 'openid profile email offline_access',
        state: transaction.state,
        nonce: transaction.nonce,
        ...(url.searchParams.get('pkce') === 'off' ? {} : { code_challenge: createHash('sha256').update(transaction.verifier).digest('base64url'), code_challenge_method: 'S256' }),
      }).toString();
      res.writeHead(302, { location: auth.href }).end();
      return;
    }
    if (url.pathname === '/callback') {
      const param = (name: string): string | undefined => url.searchParams.get(name) ?? undefined;
      callbacks.push({ code: param('code'), state: param('state'), iss: param('iss'), error: param('error') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback received');
      return;
    }
    if (url.pathname === '/backchannel' && req.method === 'POST') {
      void readBody(req).then((body) => {
        const token = new URLSearchParams(body).get('logout_token');
        if (token !== null) logoutTokens.push(token);
        res.writeHead(token === null ? 400 : 200).end();
      });
      return;
    }
    if (url.pathname === '/logged-out') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('logged out');
      return;
    }
    res.writeHead(404).end();
  });
  const port = await listenOnLoopback(server);
  const origin = `http://127.0.0.1:${port}`;
  const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;

  const post = async (path: string, params: Record<string, string>): Promise<TokenEndpointAnswer> => {
    if (issuer === undefined) throw new Error('useIssuer() first');
    const response = await fetch(new URL(path, issuer), {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: response.headers };
  };

  return {
    url: origin,
    client: {
      clientId,
      clientSecret,
      redirectUris: [`${origin}/callback`],
      postLogoutRedirectUris: [`${origin}/logged-out`],
      backchannelLogoutUri: `${origin}/backchannel`,
    },
    get transaction() {
      return transaction;
    },
    callbacks,
    logoutTokens,
    useIssuer(value) {
      issuer = value;
    },
    exchangeCode: (code, verifier = transaction?.verifier ?? '') =>
      post('/token', { grant_type: 'authorization_code', code, redirect_uri: `${origin}/callback`, code_verifier: verifier }),
    refresh: (refreshToken) => post('/token', { grant_type: 'refresh_token', refresh_token: refreshToken }),
    revoke: async (token, hint) => (await post('/token/revocation', { token, ...(hint === undefined ? {} : { token_type_hint: hint }) })).status,
    close: () => closeServer(server),
  };
}
