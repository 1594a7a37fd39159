import { Writable } from 'node:stream';
import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Revoker } from '../../src/auth/revoker.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { GOOGLE_ENDPOINTS, GoogleProvider } from '../../src/providers/google.ts';
import type { RevocationResult } from '../../src/providers/types.ts';
import { providerConfig } from '../providers/support/config.ts';
import { mockServer, type MockProviders } from '../providers/support/msw.ts';

let mock: MockProviders;
beforeAll(() => {
  mock = mockServer();
});
afterEach(() => {
  mock.server.resetHandlers();
  expect(mock.unhandled).toEqual([]);
});
afterAll(() => mock.close());

function setup() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const revoker = new Revoker({ logger: createLogger({ level: 'debug', destination: sink }), metrics, attempts: 1 });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const failed = async () => (await metrics.render()).body.match(/tokengate_revocations_total\{provider="google",outcome="failed"\} (\d+)/)?.[1];
  return { revoker, lines, records, failed };
}

const google = () => new GoogleProvider(providerConfig({ type: 'google', id: 'google' }), { retryDelayMs: 1 });

describe('a failed revocation is logged with why it failed', () => {
  it('names the provider failure of an unreachable provider, never the token', async () => {
    mock.server.use(http.post(GOOGLE_ENDPOINTS.revocation, () => HttpResponse.error()));
    const { revoker, lines, records, failed } = setup();
    revoker.revokeInBackground(google(), { refreshToken: '1//refresh-secret' });
    await revoker.idle();
    const event = records().find((line) => line['event'] === 'revocation_failed');
    expect(event).toMatchObject({ provider: 'google', attempt: 1 });
    expect(event?.['reason']).toMatch(/^google: token revocation failed: network error/);
    expect(await failed()).toBe('1');
    expect(lines.join('\n')).not.toContain('refresh-secret');
  });

  it('names the status of an unexpected answer', async () => {
    mock.server.use(http.post(GOOGLE_ENDPOINTS.revocation, () => new HttpResponse('busy', { status: 503 })));
    const { revoker, records } = setup();
    revoker.revokeInBackground(google(), { refreshToken: '1//refresh-secret' });
    await revoker.idle();
    expect(records().find((line) => line['event'] === 'revocation_failed')).toMatchObject({ provider: 'google', httpStatus: 503 });
  });
});

describe('a revocation that throws', () => {
  /** A provider with a bug in its revocation code (nothing real throws here on purpose). */
  class BrokenGoogle extends GoogleProvider {
    override revoke(): Promise<RevocationResult> {
      return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'status')"));
    }
  }

  it('is logged as an error with its cause, not counted as a failed attempt', async () => {
    const { revoker, records, failed } = setup();
    revoker.revokeInBackground(new BrokenGoogle(providerConfig({ type: 'google', id: 'google' })), { refreshToken: '1//refresh-secret' });
    await revoker.idle();
    const crash = records().find((line) => line['event'] === 'revocation_crashed');
    expect(crash).toMatchObject({ level: 'error', provider: 'google', err: { name: 'TypeError' } });
    expect(records().some((line) => line['event'] === 'revocation_failed')).toBe(false);
    expect(await failed()).toBeUndefined();
  });
});
