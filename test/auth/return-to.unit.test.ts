import { describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../src/auth/return-to.ts';
import { BadRequestError } from '../../src/errors.ts';
import { configSchema } from '../../src/config/schema.ts';
import { generateKey } from '../../src/crypto/keyring.ts';

const origin = 'https://app.example.com';

describe('returnTo accepts same-origin relative paths only', () => {
  it.each([
    [undefined, '/'],
    ['', '/'],
    ['/', '/'],
    ['/dashboard', '/dashboard'],
    ['/orders/42?tab=items#top', '/orders/42?tab=items#top'],
    ['/search?q=a%20b', '/search?q=a%20b'],
    ['/a/../b', '/b'],
    ['/a/./b/', '/a/b/'],
    ['/%7Euser', '/%7Euser'],
  ])('keeps %j as %j', (raw, expected) => {
    expect(safeReturnTo(raw, origin)).toBe(expected);
  });

  it.each([
    '//evil.example',
    'https://evil.example',
    '/\\evil.example',
    'javascript:alert(1)',
    '%2F%2Fevil.example',
    '/%2F%2Fevil.example',
    '/%5Cevil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    ' /dashboard',
    'dashboard',
    'http:/evil.example',
    `/${'a'.repeat(3000)}`,
    '/%E0%A4%A',
    // Local paths whose resolved (emitted) form is protocol-relative.
    '/a/..//evil.example',
    '/.//x',
    '/%2e%2e//x',
    '/%2E%2E//x',
    '/a/%2e%2e//evil.example',
    '/a/b/../..//evil.example',
    '/./%2e/..//evil.example',
    '/..//evil.example',
    '/%2f%2fevil',
    '/%2e%2e%2f%2fevil.example',
    '/a%2f..%2f%2fevil.example',
    '/%5cevil',
    '/\\evil',
    '/\r\n/evil.example',
    '/\u000b/evil.example',
  ])('refuses %j with 400 BAD_REQUEST', (raw) => {
    const attempt = () => safeReturnTo(raw, origin);
    expect(attempt).toThrow(BadRequestError);
    try {
      attempt();
    } catch (err) {
      expect((err as BadRequestError).code).toBe('BAD_REQUEST');
      expect((err as BadRequestError).message).not.toContain('evil');
    }
  });
});

describe('the emitted returnTo resolves to the public origin', () => {
  it.each([
    '/', '/dashboard', '/a/../b', '/a/..%2fb', '/x?next=//evil.example', '/x#//evil.example', '/%2e/x', '/a/%2E%2E/b?c=d#e',
  ])('%j is emitted as a path that a browser resolves on the public origin, and is a fixed point', (raw) => {
    const emitted = safeReturnTo(raw, origin);
    expect(emitted.startsWith('/')).toBe(true);
    expect(emitted.startsWith('//')).toBe(false);
    const resolved = new URL(emitted, origin);
    expect(resolved.origin).toBe(origin);
    expect(safeReturnTo(emitted, origin)).toBe(emitted);
  });
});

describe('post-logout redirect paths follow the returnTo rule', () => {
  const input = (postLogoutRedirectPath: string) => ({
    publicOrigin: origin,
    keys: { encryption: [{ kid: 'k1', key: generateKey() }], cookie: [generateKey()] },
    providers: [{ id: 'op', type: 'oidc', issuer: 'https://op.example.com', clientId: 'c', clientSecret: 's', postLogoutRedirectPath }],
  });

  it.each(['/a/..//evil.example', '/.//evil.example', '/%2e%2e//evil.example', '//evil.example', '/\\evil.example', '/%5cevil'])(
    'refuses postLogoutRedirectPath %j at config validation',
    (path) => {
      const result = configSchema.safeParse(input(path));
      expect(result.success).toBe(false);
      expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain('providers.0.postLogoutRedirectPath');
    },
  );

  it('accepts a plain path', () => {
    expect(configSchema.parse(input('/signed-out')).providers[0]).toMatchObject({ postLogoutRedirectPath: '/signed-out' });
  });
});
