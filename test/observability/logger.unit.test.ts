import { describe, expect, it } from 'vitest';
import { CENSOR, SECRET_KEYS } from '../../src/observability/logger.ts';
import { captureLogger } from './capture.ts';

/** A distinct secret per key and depth, so a leak names itself. */
function secretFor(key: string, depth: number): string {
  return `secret-${key}-at-depth-${depth}`;
}

describe('redaction: a secret under a known key never reaches a log line', () => {
  it.each(SECRET_KEYS)('%s at the top level, one and two levels deep', (key) => {
    const log = captureLogger();
    log.logger.info(
      {
        [key]: secretFor(key, 0),
        outer: { [key]: secretFor(key, 1), inner: { [key]: secretFor(key, 2) } },
        provider: 'google',
      },
      'line',
    );
    const raw = log.raw;
    for (const depth of [0, 1, 2]) expect(raw).not.toContain(secretFor(key, depth));
    const [line] = log.lines();
    expect(line?.[key]).toBe(CENSOR);
    expect(line?.outer).toEqual({ [key]: CENSOR, inner: { [key]: CENSOR } });
    expect(line?.provider).toBe('google');
  });

  it('Authorization, Cookie and Set-Cookie headers of requests, responses and header bags', () => {
    const log = captureLogger();
    const headers = (n: number) => ({
      authorization: `Bearer header-secret-${n}`,
      'proxy-authorization': `Basic header-secret-proxy-${n}`,
      cookie: `__Host-tg=header-secret-cookie-${n}`,
      'set-cookie': [`__Host-tg=header-secret-setcookie-${n}; Path=/`],
      accept: 'application/json',
    });
    log.logger.info({ req: { headers: headers(1) }, res: { headers: headers(2) }, headers: headers(3), upstream: { headers: headers(4) } }, 'h');
    expect(log.raw).not.toContain('header-secret');
    const [line] = log.lines() as [{ req: { headers: Record<string, unknown> }; upstream: { headers: Record<string, unknown> } }];
    expect(line.req.headers).toEqual({ authorization: CENSOR, 'proxy-authorization': CENSOR, cookie: CENSOR, 'set-cookie': CENSOR, accept: 'application/json' });
    expect(line.upstream.headers.authorization).toBe(CENSOR);
  });

  it('applies to child logger bindings too', () => {
    const log = captureLogger();
    log.logger.child({ refreshToken: 'child-binding-secret' }).info('from child');
    expect(log.raw).not.toContain('child-binding-secret');
    expect(log.lines()[0]?.refreshToken).toBe(CENSOR);
  });

  it('keeps an error code under err, but censors a bare `code` (log it as errorCode)', () => {
    const log = captureLogger();
    const err = Object.assign(new Error('store down'), { code: 'STORE_UNAVAILABLE' });
    log.logger.warn({ err, code: 'authorization-code-value', errorCode: 'STORE_UNAVAILABLE' }, 'failed');
    const [line] = log.lines() as [{ err: { code: string }; code: string; errorCode: string }];
    expect(line.err.code).toBe('STORE_UNAVAILABLE');
    expect(line.code).toBe(CENSOR);
    expect(line.errorCode).toBe('STORE_UNAVAILABLE');
    expect(log.raw).not.toContain('authorization-code-value');
  });

  it('censors an err.code that does not look like an error code', () => {
    const log = captureLogger();
    log.logger.warn({ err: { name: 'Error', message: 'x', code: 'SplxlOBeZQQYbYS6WxSbIA' } }, 'odd');
    expect(log.raw).not.toContain('SplxlOBeZQQYbYS6WxSbIA');
  });
});

describe('serializers', () => {
  it('a `url` loses its query string and fragment', () => {
    const log = captureLogger();
    log.logger.info({ url: 'https://idp.example/authorize?state=s3cr3t&code_challenge=abc#frag' }, 'redirect');
    expect(log.lines()[0]?.url).toBe('https://idp.example/authorize');
    expect(log.raw).not.toContain('s3cr3t');
  });

  it('an `err` goes through serializeError: only the allowlisted facts, scrubbed', () => {
    const log = captureLogger();
    const err = Object.assign(new Error('POST https://idp.example/token?client_secret=cs-value failed'), {
      options: { headers: { authorization: 'Bearer option-bearer-value' } },
      body: 'refresh_token=body-refresh-value',
    });
    log.logger.error({ err }, 'provider call failed');
    expect(log.raw).not.toContain('cs-value');
    expect(log.raw).not.toContain('option-bearer-value');
    expect(log.raw).not.toContain('body-refresh-value');
    const [line] = log.lines() as [{ err: Record<string, unknown> }];
    expect(line.err.message).toBe('POST https://idp.example/token failed');
    expect(Object.keys(line.err).sort()).toEqual(['message', 'name', 'stack']);
  });

  it('a string under `error` is scrubbed, not dropped', () => {
    const log = captureLogger();
    log.logger.warn({ error: 'upstream said Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln' }, 'w');
    expect(log.lines()[0]?.error).toBe('upstream said Bearer [masked]');
  });
});

describe('createLogger', () => {
  it('writes JSON lines with a level label and ISO time, and honours the level', () => {
    const log = captureLogger({ level: 'info' });
    log.logger.debug('not written');
    log.logger.info({ n: 1 }, 'written');
    const lines = log.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'written', n: 1 });
    expect(new Date(String(lines[0]?.time)).toISOString()).toBe(lines[0]?.time);
  });

  it('pretty mode writes human-readable lines in-process, still redacted', () => {
    const log = captureLogger({ pretty: true });
    log.logger.info({ accessToken: 'pretty-secret-value', provider: 'github' }, 'logged in');
    expect(log.raw).toContain('INFO');
    expect(log.raw).toContain('logged in');
    expect(log.raw).toContain('github');
    expect(log.raw).not.toContain('pretty-secret-value');
    expect(() => JSON.parse(log.raw.split('\n')[0] ?? '')).toThrow();
  });
});
