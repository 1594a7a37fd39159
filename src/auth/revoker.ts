import type { Logger } from 'pino';
import { securityEvent, type Metrics } from '../observability/index.ts';
import type { Provider } from '../providers/types.ts';
import { InFlight } from '../in-flight.ts';

/**
 * Revocation at logout, off the request path. The logout answers as soon as the store is clean;
 * the provider is asked in the background, and a failed revocation is logged as a security
 * event and tried again a bounded number of times with growing delays. Retries live in this
 * process only: a restart abandons them (the tokens expire at the provider on their own).
 * A revocation that throws is a bug, not a failed attempt: it is logged as an error with its
 * cause (through the error serializer) and not retried.
 */

export interface RevokerOptions {
  logger: Logger;
  /** Counts `tokengate_revocations_total{provider,outcome}`. */
  metrics?: Pick<Metrics, 'countRevocation'>;
  /** Attempts in all, the first one included. */
  attempts?: number;
  /** Delay before the n-th retry (1-based), in ms. */
  retryDelayMs?: (retry: number) => number;
}

/** The tokens to revoke; an opened token set (which prints as '[present]') fits. */
export interface RevocableTokens {
  readonly accessToken?: string | undefined;
  readonly refreshToken?: string | undefined;
}

interface Wait {
  timer: NodeJS.Timeout;
  resolve: () => void;
}

export class Revoker {
  readonly #logger: Logger;
  readonly #metrics: Pick<Metrics, 'countRevocation'> | undefined;
  readonly #attempts: number;
  readonly #retryDelayMs: (retry: number) => number;
  readonly #running = new InFlight<Promise<void>>();
  readonly #waits = new Set<Wait>();
  #closed = false;

  constructor(options: RevokerOptions) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#attempts = Math.max(1, options.attempts ?? 4);
    this.#retryDelayMs = options.retryDelayMs ?? ((retry) => 2_000 * 5 ** (retry - 1));
  }

  /** Starts revoking; never throws, never waits. */
  revokeInBackground(provider: Provider, tokens: RevocableTokens, fields: { sessionTag?: string | undefined } = {}): void {
    if ((tokens.accessToken === undefined && tokens.refreshToken === undefined) || this.#closed) return;
    const run = this.#run(provider, tokens, fields).finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** A revocation that cannot even be attempted (the sealed tokens do not open). */
  skipped(provider: Provider, reason: string, fields: { sessionTag?: string | undefined } = {}): void {
    this.#metrics?.countRevocation(provider.id, 'skipped');
    securityEvent(this.#logger, 'revocation_skipped', { provider: provider.id, reason, session: fields.sessionTag });
  }

  /** Resolves when every revocation started so far has finished or given up. */
  idle(): Promise<void> {
    return this.#running.idle();
  }

  /** Stops scheduling retries; attempts already in flight finish. */
  close(): void {
    this.#closed = true;
    for (const wait of this.#waits) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    this.#waits.clear();
  }

  async #run(provider: Provider, tokens: RevocableTokens, fields: { sessionTag?: string | undefined }): Promise<void> {
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      let result;
      try {
        result = await provider.revoke({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
      } catch (err) {
        this.#logger.error({ err, event: 'revocation_crashed', provider: provider.id, session: fields.sessionTag }, 'token revocation threw');
        return;
      }
      const { outcome, cause } = result;
      if (outcome !== 'failed') {
        this.#metrics?.countRevocation(provider.id, outcome === 'revoked' ? 'success' : 'skipped');
        this.#logger.info({ event: 'tokens_revoked', provider: provider.id, outcome, attempt, session: fields.sessionTag }, 'tokens revoked');
        return;
      }
      this.#metrics?.countRevocation(provider.id, 'failed');
      securityEvent(this.#logger, 'revocation_failed', {
        provider: provider.id,
        attempt,
        session: fields.sessionTag,
        reason: cause?.message,
        httpStatus: cause?.httpStatus ?? result.httpStatus,
        oauthError: cause?.oauthError,
      });
      if (attempt < this.#attempts && !this.#closed) await this.#sleep(this.#retryDelayMs(attempt));
      if (attempt === this.#attempts || this.#closed) {
        this.#metrics?.countRevocation(provider.id, 'abandoned');
        securityEvent(this.#logger, 'revocation_abandoned', { provider: provider.id, attempt, session: fields.sessionTag });
        return;
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wait: Wait = {
        timer: setTimeout(() => {
          this.#waits.delete(wait);
          resolve();
        }, ms),
        resolve,
      };
      wait.timer.unref();
      this.#waits.add(wait);
    });
  }
}
