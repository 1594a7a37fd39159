import type { Keyring } from '../crypto/keyring.ts';
import type { ProviderTokens } from '../providers/types.ts';
import { inspectSymbol, redactedView } from '../secret.ts';
import type { StoredTokenSet } from '../store/types.ts';

/**
 * Token sets as the store keeps them: every token sealed under the session's sid, in the
 * fields 'access', 'refresh' and 'id' (the associated data `<sid>|<field>` binds each sealed
 * value to its session and field). The token service seals and opens with the same names.
 */

export const SEALED_FIELDS = { access: 'access', refresh: 'refresh', id: 'id' } as const;

export function sealTokenSet(keyring: Keyring, sid: string, tokens: ProviderTokens, now: number): Omit<StoredTokenSet, 'ver'> {
  return {
    accessToken: keyring.seal(tokens.accessToken, sid, SEALED_FIELDS.access),
    ...(tokens.refreshToken ? { refreshToken: keyring.seal(tokens.refreshToken, sid, SEALED_FIELDS.refresh) } : {}),
    ...(tokens.idToken ? { idToken: keyring.seal(tokens.idToken, sid, SEALED_FIELDS.id) } : {}),
    ...(tokens.expiresIn !== undefined ? { expiresAt: now + tokens.expiresIn * 1000 } : {}),
    obtainedAt: now,
    ...(tokens.scope !== undefined ? { scope: tokens.scope } : {}),
    tokenType: tokens.tokenType,
  };
}

const SECRET_FIELDS = ['accessToken', 'refreshToken'] as const;

/** The tokens a logout revokes, opened. Prints as '[present]', never the values. */
export class RevocableTokens {
  readonly accessToken: string | undefined;
  readonly refreshToken: string | undefined;

  constructor(accessToken: string | undefined, refreshToken: string | undefined) {
    this.accessToken = accessToken;
    this.refreshToken = refreshToken;
  }

  get empty(): boolean {
    return this.accessToken === undefined && this.refreshToken === undefined;
  }

  toJSON(): Record<string, unknown> {
    return redactedView(this, SECRET_FIELDS);
  }

  [inspectSymbol](): Record<string, unknown> {
    return this.toJSON();
  }
}

/** Opens what can be opened; throws DecryptionFailedError when a sealed value is unusable. */
export function openForRevocation(keyring: Keyring, sid: string, stored: StoredTokenSet): RevocableTokens {
  return new RevocableTokens(
    keyring.open(stored.accessToken, sid, SEALED_FIELDS.access),
    stored.refreshToken === undefined ? undefined : keyring.open(stored.refreshToken, sid, SEALED_FIELDS.refresh),
  );
}
