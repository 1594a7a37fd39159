import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import got from 'got';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, StoreUnavailableError } from '../../src/errors.ts';
import { serializeError } from '../../src/observability/serialize-error.ts';
import { captureLogger } from './capture.ts';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0.bm90LWEtcmVhbC1zaWduYXR1cmU';

describe('serializeError keeps name, code, status and oauthError', () => {
  it('for our own errors', () => {
    const err = new ProviderError('google', 'token endpoint said invalid_grant', { oauthError: 'invalid_grant', transient: false, httpStatus: 400 });
    expect(serializeError(err)).toMatchObject({
      name: 'ProviderError',
      code: 'PROVIDER_ERROR',
      status: 502,
      oauthError: 'invalid_grant',
      httpStatus: 400,
      transient: false,
      message: 'token endpoint said invalid_grant',
    });
  });

  it('drops every other property', () => {
    const err = Object.assign(new Error('x'), { response: { body: 'access_token=leak' }, config: { secret: 'y' } });
    expect(Object.keys(serializeError(err)).sort()).toEqual(['message', 'name', 'stack']);
  });

  it('serializes things that are not errors', () => {
    expect(serializeError(`token ${JWT}`)).toEqual({ name: 'string', message: 'token [masked]' });
    expect(serializeError(undefined)).toEqual({ name: 'undefined', message: 'undefined' });
  });
});

describe('serializeError masks tokens in the message and the cause chain', () => {
  it('masks bearer tokens and JWTs in the message and the stack', () => {
    const out = serializeError(new Error(`upstream rejected Bearer ${JWT}`));
    expect(out.message).toBe('upstream rejected Bearer [masked]');
    expect(out.stack).not.toContain(JWT);
  });

  it('walks the cause chain the same way', () => {
    const root = Object.assign(new Error(`GET https://idp.example/userinfo?access_token=${JWT} failed`), { code: 'ECONNRESET' });
    const middle = new ProviderError('oidc', 'userinfo failed', { transient: true, cause: root });
    const top = new StoreUnavailableError('could not save', { cause: middle });
    const out = serializeError(top);
    expect(out.code).toBe('STORE_UNAVAILABLE');
    expect(out.cause?.code).toBe('PROVIDER_ERROR');
    expect(out.cause?.transient).toBe(true);
    expect(out.cause?.cause).toMatchObject({ code: 'ECONNRESET', message: 'GET https://idp.example/userinfo failed' });
    expect(JSON.stringify(out)).not.toContain(JWT);
  });

  it('stops after a bounded depth, even for a cycle', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    let depth = 0;
    for (let node = serializeError(a); node.cause; node = node.cause) depth += 1;
    expect(depth).toBe(5);
  });

  it('serializes the first errors of an AggregateError', () => {
    const out = serializeError(new AggregateError([new Error(`Bearer ${JWT}`), Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })], 'all failed'));
    expect(out.errors?.map((inner) => inner.message)).toEqual(['Bearer [masked]', 'refused']);
    expect(out.errors?.[1]?.code).toBe('ECONNREFUSED');
  });
});

describe('a real got error, logged, leaks nothing', () => {
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"server_error","refresh_token":"echoed-refresh-value"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('no query string, header or body value appears in the log line', async () => {
    const failure = await got
      .post(`${origin}/token?client_secret=query-secret-value`, {
        headers: { authorization: 'Bearer header-bearer-value' },
        form: { refresh_token: 'form-refresh-value' },
        retry: { limit: 0 },
      })
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    const log = captureLogger();
    log.logger.error({ err: failure }, 'token call failed');
    for (const secret of ['query-secret-value', 'header-bearer-value', 'form-refresh-value', 'echoed-refresh-value']) {
      expect(log.raw).not.toContain(secret);
    }
    const [line] = log.lines() as [{ err: { name: string; message: string; code: string } }];
    expect(line.err.name).toBe('HTTPError');
    expect(line.err.code).toBe('ERR_NON_2XX_3XX_RESPONSE');
    expect(line.err.message).toBe(`Request failed with status code 500 (Internal Server Error): POST ${origin}/token`);
  });
});
