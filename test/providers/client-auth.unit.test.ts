import { describe, expect, it } from 'vitest';
import { clientAuthentication, formEncode } from '../../src/providers/client-auth.ts';
import { retryAfterOf } from '../../src/providers/answers.ts';

describe('client authentication (RFC 6749 2.3.1)', () => {
  it('form-encodes id and secret before base64 for client_secret_basic', () => {
    const { headers, params } = clientAuthentication('client_secret_basic', { clientId: 'my app', clientSecret: 'a:b%c+d~é' });
    expect(params).toEqual({});
    const decoded = Buffer.from(String(headers['authorization']).replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(decoded).toBe('my+app:a%3Ab%25c%2Bd%7E%C3%A9');
    // Exactly one unencoded colon separates the two parts.
    expect(decoded.split(':')).toHaveLength(2);
  });

  it('puts id and secret in the form, untouched, for client_secret_post', () => {
    expect(clientAuthentication('client_secret_post', { clientId: 'id', clientSecret: 'a:b' })).toEqual({ headers: {}, params: { client_id: 'id', client_secret: 'a:b' } });
  });

  it('encodes like an HTML form', () => {
    expect(formEncode('a b&c=d')).toBe('a+b%26c%3Dd');
    expect(formEncode('*-._')).toBe('*-._');
  });
});

describe('Retry-After', () => {
  const answer = (headers: Record<string, string>) => ({ status: 429, headers, body: '' });

  it('reads seconds, an HTTP date, Discord’s retry_after and GitHub’s rate-limit reset', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(retryAfterOf(answer({ 'retry-after': '12' }), undefined, now)).toBe(12);
    expect(retryAfterOf(answer({ 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' }), undefined, now)).toBe(30);
    expect(retryAfterOf(answer({}), { retry_after: 0.25 }, now)).toBe(1);
    expect(retryAfterOf(answer({ 'x-ratelimit-reset': String(now / 1000 + 90) }), undefined, now)).toBe(90);
    expect(retryAfterOf(answer({}), undefined, now)).toBeUndefined();
  });
});
