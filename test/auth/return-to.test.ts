import { describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../src/auth/return-to.ts';
import { BadRequestError } from '../../src/errors.ts';

const origin = 'https://app.example.com';

describe('returnTo accepts same-origin relative paths only', () => {
  it.each([
    [undefined, '/'],
    ['', '/'],
    ['/', '/'],
    ['/dashboard', '/dashboard'],
    ['/orders/42?tab=items#top', '/orders/42?tab=items#top'],
    ['/search?q=a%20b', '/search?q=a%20b'],
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
