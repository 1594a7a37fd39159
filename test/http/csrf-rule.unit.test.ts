import { describe, expect, it } from 'vitest';
import { csrfPolicy, csrfRejection, type CsrfRule } from '../../src/http/csrf.ts';

/** The CSRF rule as a pure function (the same one proxied routes and forward-auth run). */

const policy = csrfPolicy({ header: 'X-CSRF', value: '1', allowedOrigins: ['https://admin.example.com'], publicOrigin: 'https://app.example.com' });
const ALL: CsrfRule = { methods: 'all', page: false };
const UNSAFE: CsrfRule = { methods: 'unsafe', page: false };
const PAGE: CsrfRule = { methods: 'all', page: true };

describe('csrfRejection', () => {
  it('all: every method needs the header, GET and OPTIONS too', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST']) expect(csrfRejection(policy, ALL, { method, headers: {} })).toBe('missing header');
    expect(csrfRejection(policy, ALL, { method: 'GET', headers: { 'x-csrf': '1' } })).toBeUndefined();
    expect(csrfRejection(policy, ALL, { method: 'GET', headers: { 'x-csrf': '2' } })).toBe('wrong header value');
  });

  it('unsafe: safe methods pass without the header, others do not', () => {
    expect(csrfRejection(policy, UNSAFE, { method: 'GET', headers: {} })).toBeUndefined();
    expect(csrfRejection(policy, UNSAFE, { method: 'PATCH', headers: {} })).toBe('missing header');
  });

  it('a foreign Origin is refused on every method and every rule, even with the header', () => {
    for (const rule of [ALL, UNSAFE, PAGE]) {
      expect(csrfRejection(policy, rule, { method: 'GET', headers: { 'x-csrf': '1', origin: 'https://evil.example', 'sec-fetch-mode': 'navigate' } })).toBe('origin not allowed');
    }
    expect(csrfRejection(policy, ALL, { method: 'GET', headers: { 'x-csrf': '1', origin: 'https://admin.example.com' } })).toBeUndefined();
  });

  it('page: only a GET/HEAD navigation goes without the header', () => {
    expect(csrfRejection(policy, PAGE, { method: 'GET', headers: { 'sec-fetch-mode': 'navigate' } })).toBeUndefined();
    expect(csrfRejection(policy, PAGE, { method: 'HEAD', headers: { 'sec-fetch-mode': 'navigate' } })).toBeUndefined();
    expect(csrfRejection(policy, PAGE, { method: 'POST', headers: { 'sec-fetch-mode': 'navigate' } })).toBe('missing header');
    expect(csrfRejection(policy, PAGE, { method: 'GET', headers: { 'sec-fetch-mode': 'no-cors' } })).toBe('missing header');
    expect(csrfRejection(policy, ALL, { method: 'GET', headers: { 'sec-fetch-mode': 'navigate' } })).toBe('missing header');
  });

  it('an unknown method is treated as unsafe: no navigation exemption, the header passes', () => {
    expect(csrfRejection(policy, PAGE, { method: undefined, headers: { 'sec-fetch-mode': 'navigate' } })).toBe('missing header');
    expect(csrfRejection(policy, UNSAFE, { method: undefined, headers: {} })).toBe('missing header');
    expect(csrfRejection(policy, UNSAFE, { method: undefined, headers: { 'x-csrf': '1' } })).toBeUndefined();
  });
});
