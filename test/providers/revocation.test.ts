import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { ProviderHttp } from '../../src/providers/http.ts';
import { attemptRevocation, combineOutcomes } from '../../src/providers/revocation.ts';

/** A loopback port nothing listens on: taken, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('a revocation attempt', () => {
  it('is failed with the provider failure as its cause when the provider cannot be reached', async () => {
    const http = new ProviderHttp({ providerId: 'corp', timeoutMs: 2_000, retryDelayMs: 1 });
    const url = `http://127.0.0.1:${await closedPort()}/revoke`;
    const result = await attemptRevocation(() => http.send('token revocation', { method: 'POST', url, form: { token: 'rt-secret' }, retry: 'network' }));
    expect(result.outcome).toBe('failed');
    expect(result.cause).toBeInstanceOf(ProviderError);
    expect(result.cause?.message).toContain('corp: token revocation failed');
    expect(result.cause?.message).not.toContain('rt-secret');
  });

  it('lets a programming error through instead of counting it as failed', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    await expect(attemptRevocation(() => Promise.reject(bug))).rejects.toBe(bug);
  });

  it('is failed with the status of an unexpected answer', async () => {
    await expect(attemptRevocation(() => Promise.resolve({ status: 503, headers: {}, body: 'busy' }))).resolves.toEqual({ outcome: 'failed', httpStatus: 503 });
  });

  it('keeps the first failure when several tokens are revoked', () => {
    const cause = new ProviderError('corp', 'corp: token revocation timed out', { transient: true });
    expect(combineOutcomes([{ outcome: 'revoked' }, { outcome: 'failed', cause }, { outcome: 'failed', httpStatus: 500 }])).toEqual({ outcome: 'failed', cause });
    expect(combineOutcomes([{ outcome: 'unsupported' }, { outcome: 'unsupported' }])).toEqual({ outcome: 'unsupported' });
    expect(combineOutcomes([{ outcome: 'revoked' }, { outcome: 'unsupported' }])).toEqual({ outcome: 'revoked' });
  });
});
