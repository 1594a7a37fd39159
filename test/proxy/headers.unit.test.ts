import { describe, expect, it } from 'vitest';
import { HeaderPolicy, HeaderSet } from '../../src/proxy/headers.ts';

const policy = new HeaderPolicy({ cookieName: 'tg_session', csrfHeader: 'X-CSRF' });
const facts = { clientAddress: '127.0.0.9', proto: 'https', host: 'app.example.test', authorization: 'Bearer AT' };

describe('header policy towards the upstream', () => {
  it('drops the client Authorization, the CSRF header, hop-by-hop headers and those named in Connection', () => {
    const out = policy.toUpstream(
      {
        host: 'app.example.test',
        authorization: 'Bearer client-supplied',
        'proxy-authorization': 'Basic x',
        'x-csrf': '1',
        connection: 'keep-alive, x-secret-hop',
        'keep-alive': 'timeout=5',
        'x-secret-hop': 'drop me',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        expect: '100-continue',
        accept: 'application/json',
        'content-length': '12',
      },
      facts,
    );
    expect(out.authorization).toBe('Bearer AT');
    for (const name of ['proxy-authorization', 'x-csrf', 'connection', 'keep-alive', 'x-secret-hop', 'te', 'transfer-encoding', 'upgrade', 'expect']) {
      expect(out, name).not.toHaveProperty(name);
    }
    expect(out.accept).toBe('application/json');
    expect(out['content-length']).toBe('12');
  });

  it("drops the client's DPoP proof: only the gateway proves possession of a session's key", () => {
    const out = policy.toUpstream({ host: 'h', dpop: 'eyJ.client.proof', accept: 'text/plain' }, facts);
    expect(out).not.toHaveProperty('dpop');
    expect(out.accept).toBe('text/plain');
  });

  it('a Connection header cannot remove framing or Host', () => {
    const out = policy.toUpstream({ host: 'h', connection: 'content-length, host', 'content-length': '3' }, facts);
    expect(out['content-length']).toBe('3');
    expect(out.host).toBe('h');
  });

  it('removes the gateway cookies (session, login transaction, consent, signatures, any prefix) and keeps the others', () => {
    const cookie = [
      '__Host-tg_session=sid',
      '__Host-tg_session.sig=abc',
      'tg_session=bare',
      '__Host-tg_session_login=tx',
      '__Host-tg_session_login.sig=def',
      'tg_session_consent=google',
      'theme=dark',
      'tg_sessionx=kept',
      'lang=en',
    ].join('; ');
    const out = policy.toUpstream({ cookie }, facts);
    expect(out.cookie).toBe('theme=dark; tg_sessionx=kept; lang=en');
    expect(policy.toUpstream({ cookie: '__Host-tg_session=sid; __Host-tg_session.sig=x' }, facts)).not.toHaveProperty('cookie');
  });

  it('replaces client-supplied forwarding headers with its own', () => {
    const out = policy.toUpstream({ 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil', 'x-forwarded-proto': 'http', forwarded: 'for=6.6.6.6' }, facts);
    expect(out['x-forwarded-for']).toBe('127.0.0.9');
    expect(out['x-forwarded-host']).toBe('app.example.test');
    expect(out['x-forwarded-proto']).toBe('https');
    expect(out).not.toHaveProperty('forwarded');
  });

  it('an anonymous request carries no Authorization at all', () => {
    expect(policy.toUpstream({ authorization: 'Bearer client' }, { ...facts, authorization: undefined })).not.toHaveProperty('authorization');
  });

  it('keeps Connection: upgrade and Upgrade for a WebSocket handshake', () => {
    const out = policy.toUpstream({ connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' }, { ...facts, upgrade: true });
    expect(out.connection).toBe('upgrade');
    expect(out.upgrade).toBe('websocket');
    expect(out['sec-websocket-key']).toBe('k');
  });
});

describe('header policy towards the client', () => {
  it('drops hop-by-hop headers and any Set-Cookie that would overwrite a gateway cookie', () => {
    const out = policy.toClient({
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'content-type': 'text/event-stream',
      'set-cookie': ['__Host-tg_session=evil; Path=/', 'tg_session.sig=x', 'app=1; Path=/'],
    });
    expect(out).not.toHaveProperty('connection');
    expect(out).not.toHaveProperty('keep-alive');
    expect(out).not.toHaveProperty('transfer-encoding');
    expect(out['content-type']).toBe('text/event-stream');
    expect(out['set-cookie']).toEqual(['app=1; Path=/']);
  });
});

describe('HeaderPolicy: client headers upstreams trust', () => {
  const strict = new HeaderPolicy({ cookieName: 'tg_session', csrfHeader: 'x-csrf', stripHeaders: ['x-tenant', 'x-internal-*'] });
  const facts = { clientAddress: '10.0.0.7', proto: 'https', host: 'app.example.com', authorization: undefined };

  it('drops the built-in list and the configured names and prefixes, and sets X-Real-IP from the socket', () => {
    const out = strict.toUpstream(
      { 'x-real-ip': '6.6.6.6', 'x-http-method-override': 'DELETE', 'x-auth-request-user': 'admin', 'x-tenant': 't', 'x-internal-a': '1', 'x-app': 'kept' },
      facts,
    );
    expect(out).toEqual({ 'x-app': 'kept', 'x-real-ip': '10.0.0.7', 'x-forwarded-for': '10.0.0.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' });
  });

  it('a route list drops more on that route only', () => {
    expect(strict.toUpstream({ 'x-debug': '1' }, { ...facts, strip: new HeaderSet(['x-debug']) })['x-debug']).toBeUndefined();
    expect(strict.toUpstream({ 'x-debug': '1' }, facts)['x-debug']).toBe('1');
  });
});
