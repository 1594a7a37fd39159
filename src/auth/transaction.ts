import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TooManyPendingLoginsError } from '../errors.ts';
import { SecretHolder } from '../secret.ts';
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
 *
 * In memory it prints only its provider, returnTo and createdAt; state, verifier, nonce, the
 * previous sid and the address print as '[present]'.
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
  /**
   * `/auth/link`: the session (recorded at the same-site start, like `previousSid`) that the
   * provider's tokens are linked to; the callback then makes no new session.
   */
  linkTo: z.string().optional(),
  /**
   * RFC 8707: the resource indicators the authorization request named (providers with resource
   * indicators). The session's grant covers these and no others (see `StoredTokenSet.grantResources`).
   */
  resources: z.array(z.string()).optional(),
});

type TransactionFields = z.infer<typeof transactionSchema>;

export class LoginTransaction extends SecretHolder {
  readonly provider: string;
  readonly state: string;
  readonly codeVerifier: string;
  readonly nonce: string | undefined;
  readonly returnTo: string;
  readonly createdAt: number;
  readonly previousSid: string | undefined;
  readonly address: string | undefined;
  readonly linkTo: string | undefined;
  readonly resources: string[] | undefined;

  constructor(fields: TransactionFields) {
    super(['provider', 'returnTo', 'createdAt']);
    this.provider = fields.provider;
    this.state = fields.state;
    this.codeVerifier = fields.codeVerifier;
    this.nonce = fields.nonce;
    this.returnTo = fields.returnTo;
    this.createdAt = fields.createdAt;
    this.previousSid = fields.previousSid;
    this.address = fields.address;
    this.linkTo = fields.linkTo;
    this.resources = fields.resources;
  }

  /** The stored form: the one place its secrets are written out. */
  serialize(): string {
    const fields: TransactionFields = { ...this };
    return JSON.stringify(fields);
  }
}

export function newTransaction(
  provider: { id: string; oidc: boolean; resourceIndicators?: boolean | undefined; requestedResources?: readonly string[] | undefined },
  returnTo: string,
  now: number,
  context: { previousSid?: string | undefined; address?: string | undefined; linkTo?: string | undefined } = {},
): LoginTransaction {
  return new LoginTransaction({
    provider: provider.id,
    state: randomToken(),
    codeVerifier: randomToken(),
    ...(provider.oidc ? { nonce: randomToken() } : {}),
    returnTo,
    createdAt: now,
    ...(context.previousSid === undefined ? {} : { previousSid: context.previousSid }),
    ...(context.address === undefined ? {} : { address: context.address }),
    ...(context.linkTo === undefined ? {} : { linkTo: context.linkTo }),
    ...(provider.resourceIndicators === true ? { resources: [...(provider.requestedResources ?? [])] } : {}),
  });
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
/**
 * Counts a login against the pending-login limits before anything is sent or stored, so a flood
 * of anonymous logins costs neither the store nor the provider (a pushed authorization request)
 * more than the limits allow. Returns the transaction's id; 429 TOO_MANY_PENDING_LOGINS past a limit.
 */
export async function admitTransaction(store: Store, transaction: LoginTransaction, ttlMs: number, limits?: PendingLoginLimits): Promise<string> {
  const id = randomToken();
  const address = transaction.address;
  if (limits !== undefined && address !== undefined) {
    const admission = await store.admitPendingLogin(id, address, limits, ttlMs);
    if (!admission.admitted) {
      const message = admission.limit === 'address' ? 'Too many logins in progress from this address; try again later' : 'Too many logins in progress; try again later';
      throw new TooManyPendingLoginsError(message, { retryAfter: Math.ceil(admission.retryAfterMs / 1000) });
    }
  }
  return id;
}

/** An admitted login that will not be stored (its push failed, say) stops counting. */
export async function releaseTransaction(store: Store, id: string, transaction: LoginTransaction): Promise<void> {
  // If this fails too, the count ends with the TTL anyway.
  if (transaction.address !== undefined) await store.releasePendingLogin(id, transaction.address).catch(() => undefined);
}

/** Stores an admitted transaction under its id; on failure it stops counting. */
export async function storeTransaction(store: Store, id: string, transaction: LoginTransaction, ttlMs: number): Promise<void> {
  try {
    await store.putEphemeral(NAMESPACE, id, transaction.serialize(), ttlMs);
  } catch (err) {
    await releaseTransaction(store, id, transaction);
    throw err;
  }
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
    return new LoginTransaction(parsed.data);
  } catch {
    // Unreadable JSON is a transaction nobody can finish: the same answer as an expired one.
    return null;
  }
}
