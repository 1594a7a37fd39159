import type { JWSAlgorithm, JWTVerifyGetKey } from 'jose';
import { BadRequestError } from '../errors.ts';
import type { LogoutTokenClaims } from './types.ts';
import { verifyJwt } from './jwks.ts';

/**
 * OpenID Connect Back-Channel Logout 1.0, section 2.6: signature, `iss`, `aud`, `iat`, `exp`
 * (required by section 2.4; a provider configured with `acceptLogoutTokenWithoutExp` may omit
 * it, and such a token may then be at most a few minutes old), a `jti`, the
 * back-channel-logout member in `events`, `sub` and/or `sid`, and no `nonce` (so that an ID
 * token can never pass as a logout token). `typ` may be absent, `JWT` or `logout+jwt`.
 * The caller checks `jti` for replay.
 */

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Without `exp`, a logout token older than this is refused. */
const MAX_AGE_WITHOUT_EXP_SECONDS = 120;

const ACCEPTED_TYP = new Set(['jwt', 'application/jwt', 'logout+jwt', 'application/logout+jwt']);

export interface LogoutTokenExpectations {
  issuer: string;
  clientId: string;
  algorithms: JWSAlgorithm[];
  now: () => number;
  /** Leniency for providers known to omit `exp`. Default false: `exp` is required. */
  acceptWithoutExp?: boolean;
}

export async function verifyLogoutToken(providerId: string, logoutToken: string, keys: JWTVerifyGetKey, expect: LogoutTokenExpectations): Promise<LogoutTokenClaims> {
  const { payload, protectedHeader } = await verifyJwt(providerId, 'logout token', logoutToken, keys, {
    issuer: expect.issuer,
    audience: expect.clientId,
    algorithms: expect.algorithms,
    now: expect.now,
    requiredClaims: expect.acceptWithoutExp ? ['iat', 'jti', 'events'] : ['iat', 'jti', 'events', 'exp'],
  });
  const reject = (why: string) => new BadRequestError(`logout token rejected: ${why}`);
  if (protectedHeader.typ !== undefined && !ACCEPTED_TYP.has(protectedHeader.typ.toLowerCase())) throw reject('unexpected typ');
  if (payload['nonce'] !== undefined) throw reject('it carries a nonce');
  const events = payload['events'];
  if (typeof events !== 'object' || events === null || Array.isArray(events)) throw reject('events is not an object');
  const event: unknown = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw reject('no back-channel logout event');
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  const sid = typeof payload['sid'] === 'string' && payload['sid'] !== '' ? payload['sid'] : undefined;
  if (sub === undefined && sid === undefined) throw reject('neither sub nor sid');
  if (typeof payload.jti !== 'string' || payload.jti === '') throw reject('no jti');
  const iat = payload.iat;
  if (typeof iat !== 'number') throw reject('no iat');
  if (payload.exp === undefined && iat < expect.now() / 1000 - MAX_AGE_WITHOUT_EXP_SECONDS) throw reject('too old');
  const claims: LogoutTokenClaims = { jti: payload.jti, iat };
  if (sub !== undefined) claims.sub = sub;
  if (sid !== undefined) claims.sid = sid;
  if (payload.exp !== undefined) claims.exp = payload.exp;
  return claims;
}
