import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../../src/config/schema.ts';
import { BadRequestError } from '../../src/errors.ts';
import { RouteTable } from '../../src/proxy/route-table.ts';

function route(prefix: string, upstream: string, extra: Partial<RouteConfig> = {}): RouteConfig {
  return { prefix, upstream, auth: 'required', stripPrefix: false, timeout: 30_000, replayBodyLimit: 1024 * 1024, websocket: true, csrf: 'all', page: false, stripHeaders: [], cache: 'private', ...extra };
}

describe('route table', () => {
  const table = new RouteTable([
    route('/api', 'http://127.0.0.1:7001'),
    route('/api/admin', 'http://127.0.0.1:7002/base', { stripPrefix: true }),
    route('/files/', 'http://127.0.0.1:7003/store/', { stripPrefix: true }),
  ]);

  it('matches a prefix on a segment boundary only', () => {
    expect(table.match('/api')?.route.prefix).toBe('/api');
    expect(table.match('/api/users?x=1')?.upstreamPath).toBe('/api/users?x=1');
    expect(table.match('/apiary')).toBeUndefined();
    expect(table.match('/')).toBeUndefined();
  });

  it('the longest prefix wins, and stripPrefix joins the rest onto the upstream base path', () => {
    const match = table.match('/api/admin/users/7?full=1');
    expect(match?.route.upstream.origin).toBe('http://127.0.0.1:7002');
    expect(match?.upstreamPath).toBe('/base/users/7?full=1');
    expect(table.match('/api/admin')?.upstreamPath).toBe('/base');
    expect(table.match('/api/administrator')?.route.prefix).toBe('/api');
  });

  it('a configured trailing slash does not change what matches', () => {
    expect(table.match('/files')?.upstreamPath).toBe('/store');
    expect(table.match('/files/a.txt')?.upstreamPath).toBe('/store/a.txt');
    expect(table.match('/filesystem')).toBeUndefined();
  });

  it('a request cannot leave its route with dot segments, plain or percent-encoded', () => {
    for (const target of ['/api/../admin', '/api/./x', '/api/%2e%2e/admin', '/api/%2E/x']) {
      expect(() => table.match(target)).toThrow(BadRequestError);
    }
  });

  it('a root route catches everything the others do not', () => {
    const withRoot = new RouteTable([route('/', 'http://127.0.0.1:7009'), route('/api', 'http://127.0.0.1:7001')]);
    expect(withRoot.match('/anything?q')?.upstreamPath).toBe('/anything?q');
    expect(withRoot.match('/api/x')?.route.upstream.port).toBe('7001');
  });
});
