import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParUnsupportedError, ProviderError } from '../../src/errors.ts';
import { readMetadata } from '../../src/providers/discovery.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider, type FakeAnswer } from './support/fake-op.ts';
import { rejectionOf } from './support/secrets.ts';

/**
 * The OIDC provider's side of pushed authorization requests (RFC 9126), against a scripted
 * provider: when it pushes (par: auto | required | off against the metadata), what it pushes
 * (the authorization parameters and the client authentication, configured extras unable to
 * replace the binding ones), what it accepts back (a `request_uri` URI and a positive
 * `expires_in`), the failure class of every other answer, and the https rule for the endpoint.
 */

let op: FakeOpenIdProvider;

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
});
afterEach(() => op.reset());
afterAll(() => op.close());

const REQUEST = { state: 'st-1', codeChallenge: 'ch-1', nonce: 'no-1', redirectUri: 'https://app.example.com/auth/callback' };
const PUSHED = { status: 201, body: { request_uri: 'urn:ietf:params:oauth:request_uri:abc123', expires_in: 60 } };

function provider(extra: Record<string, unknown> = {}): OidcProvider {
  return new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', ...extra }), { retryDelayMs: 5 });
}

function advertise(extra: Record<string, unknown>): void {
  op.on('GET /.well-known/openid-configuration', () => ({ body: { ...op.metadata(), ...extra } }));
}

function pushAnswers(answer: FakeAnswer): void {
  op.on('POST /par', () => answer);
}

describe('when the login pushes', () => {
  it('par: auto pushes when the metadata names the endpoint, and the URL carries only client_id and request_uri', async () => {
    advertise({ pushed_authorization_request_endpoint: `${op.issuer}/par` });
    pushAnswers(PUSHED);
    const url = await provider({ authorizationParams: { prompt: 'login', state: 'attacker', request_uri: 'urn:attacker' } }).authorizationUrl(REQUEST);
    expect(`${url.origin}${url.pathname}`).toBe(`${op.issuer}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: 'client-123', request_uri: 'urn:ietf:params:oauth:request_uri:abc123' });

    const [push] = op.requestsTo('/par');
    expect(push!.headers['authorization']).toMatch(/^Basic /);
    expect(push!.form).toEqual({
      prompt: 'login',
      response_type: 'code',
      client_id: 'client-123',
      redirect_uri: 'https://app.example.com/auth/callback',
      scope: 'openid profile email offline_access',
      state: 'st-1',
      code_challenge: 'ch-1',
      code_challenge_method: 'S256',
      nonce: 'no-1',
    });
  });

  it('par: auto without the endpoint sends the parameters in the URL', async () => {
    const url = await provider().authorizationUrl(REQUEST);
    expect(url.searchParams.get('state')).toBe('st-1');
    expect(op.requestsTo('/par')).toEqual([]);
  });

  it('par: off never pushes', async () => {
    advertise({ pushed_authorization_request_endpoint: `${op.issuer}/par` });
    const url = await provider({ par: 'off' }).authorizationUrl(REQUEST);
    expect(url.searchParams.get('code_challenge')).toBe('ch-1');
    expect(op.requestsTo('/par')).toEqual([]);
  });

  it('refuses with PAR_UNSUPPORTED when the push is required and cannot be made', async () => {
    const required = await rejectionOf(provider({ par: 'required' }).authorizationUrl(REQUEST));
    expect(required).toBeInstanceOf(ParUnsupportedError);
    expect(required).toMatchObject({ code: 'PAR_UNSUPPORTED', status: 502, expose: true });

    advertise({ require_pushed_authorization_requests: true });
    expect((await rejectionOf(provider().authorizationUrl(REQUEST))) as Error).toBeInstanceOf(ParUnsupportedError);
    advertise({ require_pushed_authorization_requests: true, pushed_authorization_request_endpoint: `${op.issuer}/par` });
    const off = (await rejectionOf(provider({ par: 'off' }).authorizationUrl(REQUEST))) as Error;
    expect(off).toBeInstanceOf(ParUnsupportedError);
    expect(off.message).toContain('par: off');
    expect(op.requestsTo('/par')).toEqual([]);
  });

  it('client_secret_post puts the credentials in the pushed form', async () => {
    advertise({ pushed_authorization_request_endpoint: `${op.issuer}/par` });
    pushAnswers(PUSHED);
    await provider({ tokenEndpointAuthMethod: 'client_secret_post' }).authorizationUrl(REQUEST);
    const [push] = op.requestsTo('/par');
    expect(push!.headers['authorization']).toBeUndefined();
    expect(push!.form).toMatchObject({ client_id: 'client-123', client_secret: expect.any(String), state: 'st-1' });
  });
});

describe('what comes back from the push', () => {
  const unusable: Array<[string, FakeAnswer]> = [
    ['no request_uri', { status: 201, body: { expires_in: 60 } }],
    ['a request_uri with a space', { status: 201, body: { request_uri: 'urn:x y', expires_in: 60 } }],
    ['a request_uri that is not a URI', { status: 201, body: { request_uri: 'no-scheme', expires_in: 60 } }],
    ['no expires_in', { status: 201, body: { request_uri: 'urn:ietf:params:oauth:request_uri:a' } }],
    ['a zero expires_in', { status: 201, body: { request_uri: 'urn:ietf:params:oauth:request_uri:a', expires_in: 0 } }],
    ['an HTML page', { status: 200, body: '<html>hello</html>' }],
    ['a 400 invalid_request', { status: 400, body: { error: 'invalid_request' } }],
    ['a 401 invalid_client', { status: 401, body: { error: 'invalid_client' } }],
  ];

  it.each(unusable)('%s is a failure that will not pass by itself (not transient)', async (_what, answer) => {
    advertise({ pushed_authorization_request_endpoint: `${op.issuer}/par` });
    pushAnswers(answer);
    const err = (await rejectionOf(provider().authorizationUrl(REQUEST))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/^corp: pushed authorization request failed: HTTP \d{3} with /);
  });

  it('a 503 and a dropped connection are transient (the 503 with the provider\'s Retry-After); the next push goes through', async () => {
    advertise({ pushed_authorization_request_endpoint: `${op.issuer}/par` });
    pushAnswers({ status: 503, headers: { 'retry-after': '9' }, body: { error: 'temporarily_unavailable' } });
    expect(await rejectionOf(provider().authorizationUrl(REQUEST))).toMatchObject({ transient: true, httpStatus: 503, retryAfter: 9 });

    let calls = 0;
    op.on('POST /par', () => (++calls === 1 ? { destroy: true } : PUSHED));
    const corp = provider();
    expect(await rejectionOf(corp.authorizationUrl(REQUEST))).toMatchObject({ transient: true, httpStatus: undefined });
    const url = await corp.authorizationUrl(REQUEST);
    expect(url.searchParams.get('request_uri')).toBe(PUSHED.body.request_uri);
  });

  it('a provider that does not answer fails transiently', async () => {
    advertise({ pushed_authorization_request_endpoint: `${op.issuer}/par` });
    pushAnswers({ delayMs: 1500, ...PUSHED });
    expect(await rejectionOf(provider().authorizationUrl(REQUEST))).toMatchObject({ transient: true, httpStatus: undefined });
  });
});

describe('the pushed authorization request endpoint in the metadata', () => {
  const issuer = 'https://op.example.com';
  const base = { issuer, authorization_endpoint: `${issuer}/a`, token_endpoint: `${issuer}/t`, jwks_uri: `${issuer}/j` };

  it('is read with the requirement flag', () => {
    const metadata = readMetadata('corp', issuer, { ...base, pushed_authorization_request_endpoint: `${issuer}/par`, require_pushed_authorization_requests: true });
    expect(metadata).toMatchObject({ pushedAuthorizationRequestEndpoint: `${issuer}/par`, requirePushedAuthorizationRequests: true });
    expect(readMetadata('corp', issuer, base)).toMatchObject({ pushedAuthorizationRequestEndpoint: undefined, requirePushedAuthorizationRequests: false });
  });

  it('must use https under an https issuer, and outside loopback unless allowInsecure', () => {
    expect(() => readMetadata('corp', issuer, { ...base, pushed_authorization_request_endpoint: 'http://op.example.com/par' })).toThrow(/pushed_authorization_request_endpoint must use https/);
    const loopback = 'http://127.0.0.1:8443';
    const loopbackBase = { issuer: loopback, authorization_endpoint: `${loopback}/a`, token_endpoint: `${loopback}/t`, jwks_uri: `${loopback}/j` };
    const withPar = { ...loopbackBase, pushed_authorization_request_endpoint: 'http://op.internal/par' };
    expect(() => readMetadata('corp', loopback, withPar, { allowInsecure: false })).toThrow(/pushed_authorization_request_endpoint must use https outside loopback/);
    expect(readMetadata('corp', loopback, withPar, { allowInsecure: true }).pushedAuthorizationRequestEndpoint).toBe('http://op.internal/par');
    expect(() => readMetadata('corp', issuer, { ...base, pushed_authorization_request_endpoint: 'not a url' })).toThrow(/pushed_authorization_request_endpoint is not a URL/);
  });
});
