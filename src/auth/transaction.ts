import { createHash } from 'node:crypto';
import { z } from 'zod';
import { randomToken } from '../session/session-id.ts';
import type { Store } from '../store/types.ts';

/**
 * The login transaction: everything the callback needs to finish one login, kept in the store
 * for at most `session.loginTimeout` and taken (read and deleted atomically) exactly once. The
 * browser holds only the transaction id, in the SameSite=Lax login cookie; state, the PKCE
 * verifier, the nonce, the provider and returnTo never leave the server.
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
});

export type LoginTransaction = z.infer<typeof transactionSchema>;

export function newTransaction(provider: { id: string; oidc: boolean }, returnTo: string, now: number, previousSid?: string): LoginTransaction {
  return {
    provider: provider.id,
    state: randomToken(),
    codeVerifier: randomToken(),
    ...(provider.oidc ? { nonce: randomToken() } : {}),
    returnTo,
    createdAt: now,
    ...(previousSid === undefined ? {} : { previousSid }),
  };
}

/** RFC 7636 S256: base64url(sha256(verifier)). */
export function pkceChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/** Stores the transaction and returns its id, for the login cookie. */
export async function saveTransaction(store: Store, transaction: LoginTransaction, ttlMs: number): Promise<string> {
  const id = randomToken();
  await store.putEphemeral(NAMESPACE, id, JSON.stringify(transaction), ttlMs);
  return id;
}

/** One use: a second take of the same id finds nothing. */
export async function takeTransaction(store: Store, id: string): Promise<LoginTransaction | null> {
  const text = await store.takeEphemeral(NAMESPACE, id);
  if (text === null) return null;
  try {
    const parsed = transactionSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    // Unreadable JSON is a transaction nobody can finish: the same answer as an expired one.
    return null;
  }
}
