import { SecretHolder } from '../secret.ts';
import type { RefreshOutcome } from './types.ts';

/**
 * The access token to attach to one upstream request, with the `ver` of the token set it came
 * from (the 401 path passes it back to `forceRefresh`) and what the token service did to get it.
 * Prints as `{ accessToken: '[present]', ... }`.
 */
export class BearerToken extends SecretHolder {
  readonly accessToken: string;
  readonly ver: number;
  /** Epoch ms; undefined when the token does not expire. */
  readonly expiresAt: number | undefined;
  readonly outcome: RefreshOutcome;

  constructor(fields: { accessToken: string; ver: number; expiresAt: number | undefined; outcome: RefreshOutcome }) {
    super(['ver', 'expiresAt', 'outcome']);
    this.accessToken = fields.accessToken;
    this.ver = fields.ver;
    this.expiresAt = fields.expiresAt;
    this.outcome = fields.outcome;
  }

  /** The `Authorization` header value. */
  get authorization(): string {
    return `Bearer ${this.accessToken}`;
  }
}
