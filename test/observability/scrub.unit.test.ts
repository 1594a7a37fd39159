import { describe, expect, it } from 'vitest';
import { safeUrl, scrubText } from '../../src/observability/scrub.ts';

describe('safeUrl strips query strings, fragments and userinfo', () => {
  it.each([
    ['https://idp.example/token?refresh_token=rt&client_secret=cs', 'https://idp.example/token'],
    ['https://idp.example/authorize?state=abc#access_token=xyz', 'https://idp.example/authorize'],
    ['https://user:pa55@api.example:8443/v1/items?x=1', 'https://api.example:8443/v1/items'],
    ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000/'],
    ['/auth/callback?code=abc&state=def', '/auth/callback'],
    ['/api/items#section', '/api/items'],
    ['relative/path?q=1', 'relative/path'],
    ['no query at all', 'no query at all'],
  ])('%s → %s', (input, expected) => {
    expect(safeUrl(input)).toBe(expected);
  });

  it('accepts URL objects without changing them', () => {
    const url = new URL('https://idp.example/cb?code=c0de');
    expect(safeUrl(url)).toBe('https://idp.example/cb');
    expect(url.search).toBe('?code=c0de');
  });
});

describe('scrubText masks what looks like a credential', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ1c2VyIiwiZXhwIjoxfQ.c2lnbmF0dXJlLXZhbHVl';

  it('drops query strings of URLs inside text', () => {
    expect(scrubText('Request failed: POST https://idp.example/token?grant_type=refresh_token&refresh_token=rt-1 (500)')).toBe(
      'Request failed: POST https://idp.example/token (500)',
    );
    expect(scrubText('GET /auth/callback?code=c-1&state=s-1 rejected')).toBe('GET /auth/callback rejected');
  });

  it('masks bearer and basic credentials', () => {
    expect(scrubText('sent Authorization: Bearer opaque-token-value.123')).toBe('sent Authorization: Bearer [masked]');
    expect(scrubText('basic dXNlcjpwYXNz here')).toBe('basic [masked] here');
  });

  it('masks JWT-shaped strings anywhere', () => {
    expect(scrubText(`id token ${jwt} rejected`)).toBe('id token [masked] rejected');
  });

  it('masks token=value and "token":"value" pairs', () => {
    expect(scrubText('body: access_token=at-1&token_type=Bearer')).toBe('body: access_token=[masked]&token_type=Bearer');
    expect(scrubText('{"refresh_token":"rt-2","expires_in":3600}')).toBe('{"refresh_token":"[masked]","expires_in":3600}');
  });

  it('masks well-known provider token shapes and long opaque runs', () => {
    expect(scrubText('google ya29.a0AfB_byC-token and 1//0gRefresh-token')).toBe('google [masked] and [masked]');
    expect(scrubText('github gho_16C7e42F292c6912E7710c838347Ae178B4a')).toBe('github [masked]');
    expect(scrubText(`sealed v1.k1.${'A'.repeat(16)}.${'b'.repeat(64)}`)).toBe(`sealed v1.k1.${'A'.repeat(16)}.[masked]`);
  });

  it('leaves ordinary text, error codes and request ids alone', () => {
    const text = 'connect ECONNREFUSED 127.0.0.1:6379 (request 3f1c2a9e-4b7d-4c3e-9a1f-2b8d7e6c5a4f)';
    expect(scrubText(text)).toBe(text);
  });

  it('cuts very long text', () => {
    expect(scrubText('word '.repeat(1000)).length).toBeLessThanOrEqual(2001);
  });
});
