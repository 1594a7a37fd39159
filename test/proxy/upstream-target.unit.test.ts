import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../src/errors.ts';
import { upstreamTarget } from '../../src/proxy/upstream-target.ts';

describe('upstreamTarget: the exact path an upstream receives', () => {
  const strip = { prefix: '/api', basePath: '/base', stripPrefix: true };

  it('joins the path below the prefix onto the base and keeps the query as sent', () => {
    expect(upstreamTarget(strip, '/api/a/b?x=..\\y&z=%2e')).toEqual({ path: '/base/a/b', query: '?x=..\\y&z=%2e' });
    expect(upstreamTarget(strip, '/api')).toEqual({ path: '/base', query: '' });
    expect(upstreamTarget({ prefix: '/', basePath: '/', stripPrefix: false }, '/x')).toEqual({ path: '/x', query: '' });
  });

  it.each(['/api/..\\admin', '/api/%2e%2e/x', '/api/.%2E/x', '/api/a%2fb', '/api/a%5Cb', '/api/a b', '/api/a\tb', 'api/x', '/api/x/..'])('refuses %s with BAD_REQUEST', (target) => {
    expect(() => upstreamTarget(strip, target)).toThrow(BadRequestError);
  });

  it('refuses a final path that a URL parser would read as a host', () => {
    expect(() => upstreamTarget({ prefix: '/api', basePath: '/', stripPrefix: true }, '/api//evil.example/x')).toThrow(BadRequestError);
  });
});
