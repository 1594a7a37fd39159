import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TooManyPendingLoginsError } from '../errors.ts';
import { randomToken } from '../session/session-id.ts';
import type { PendingLoginLimits, Store } from '../store/types.ts';

/**
 * The login transaction: everything the callback needs to finish one login, kept in the store
 * for at most `session.loginTimeout` and taken (read and deleted atomically) exactly once. The
 * browser holds only the transaction id, in the SameSite=Lax login cookie; state, the PKCE
 * verifier, the nonce, the provider and returnTo never leave the server.
 *
 * A transaction counts as a pending login of its client address until it is taken or expires
 * (`login.maxPendingPerAddress`, `login.maxPending`): past a limit no transaction is stored and
 * the login is refused with 429 TOO_MANY_PENDING_LOGINS, so a stranger cannot make the store
 * hold more than the limits allow.
 */

const NAMESPACE = 'login';

const transactionSchema = z.object({
  provider: z.string(),
  state: z.string(),
  codeVerifier: z.string(),
  nonce: z.string().optional(),
  returnTo: z.string(),
  createdAt: z.number(),
  /**
   * The session this browser had when the login started (/auth/login is same-site and carries
   * the Strict session cookie; the callback, a cross-site navigation, does not). Ended once the
   * new session exists.
   */
  previousSid: z.string().optional(),
  /** The client address it counts against (pending-login limits). */
  address: z.string().optional(),
});

export type LoginTransaction = z.infer<typeof transactionSchema>;

export function newTransaction(
  provider: { id: string; oidc: boolean },
  returnTo: string,
  now: number,
  context: { previousSid?: string | undefined; address?: string | undefined } = {},
): LoginTransaction {
  return {
    provider: provider.id,
    state: randomToken(),
    codeVerifier: randomToken(),
    ...(provider.oidc ? { nonce: randomToken() } : {}),
    returnTo,
    createdAt: now,
    ...(context.previousSid === undefined ? {} : { previousSid: context.previousSid }),
    ...(context.address === undefined ? {} : { address: context.address }),
  };
}

/** RFC 7636 S256: base64url(sha256(verifier)). */
export function pkceChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/**
 * Stores the transaction and returns its id, for the login cookie. With `limits`, it must first
 * be admitted as a pending login of `transaction.address` (TooManyPendingLoginsError, with
 * Retry-After, when a limit is reached).
 */
export async function saveTransaction(store: Store, transaction: LoginTransaction, ttlMs: number, limits?: PendingLoginLimits): Promise<string> {
  const id = randomToken();
  const address = transaction.address;
  if (limits !== undefined && address !== undefined) {
    const admission = await store.admitPendingLogin(id, address, limits, ttlMs);
    if (!admission.admitted) {
      const message = admission.limit === 'address' ? 'Too many logins in progress from this address; try again later' : 'Too many logins in progress; try again later';
      throw new TooManyPendingLoginsError(message, { retryAfter: Math.ceil(admission.retryAfterMs / 1000) });
    }
  }
  try {
    await store.putEphemeral(NAMESPACE, id, JSON.stringify(transaction), ttlMs);
  } catch (err) {
    // Not stored: it must not count. If this fails too, the count ends with the TTL anyway.
    if (limits !== undefined && address !== undefined) await store.releasePendingLogin(id, address).catch(() => undefined);
    throw err;
  }
  return id;
}

/** One use: a second take of the same id finds nothing. */
export async function takeTransaction(store: Store, id: string): Promise<LoginTransaction | null> {
  const text = await store.takeEphemeral(NAMESPACE, id);
  if (text === null) return null;
  try {
    const parsed = transactionSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return null;
    // Taken: no longer pending. A failure here only leaves it counted until the TTL ends.
    if (parsed.data.address !== undefined) await store.releasePendingLogin(id, parsed.data.address).catch(() => undefined);
    return parsed.data;
  } catch {
    // Unreadable JSON is a transaction nobody can finish: the same answer as an expired one.
    return null;
  }
}
