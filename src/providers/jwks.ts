import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWSAlgorithm, type JWTPayload, type JWTVerifyGetKey, type JWTHeaderParameters } from 'jose';
import { BadRequestError, ProviderError } from '../errors.ts';
import { isTransientStatus } from './answers.ts';
import { USER_AGENT } from './http.ts';

/**
 * A provider's signing keys (JWKS, fetched by jose and cached) and JWT verification that sorts
 * failures into two kinds: the provider could not be reached or served garbage keys
 * (ProviderError; transient for network errors, timeouts, 5xx and 429) versus the token itself
 * is not acceptable (BadRequestError). Neither message contains the token.
 */

/** Asymmetric algorithms only: a JWKS never legitimately verifies an HMAC or unsigned token. */
export const ASYMMETRIC_ALGORITHMS: readonly JWSAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** The allowed algorithms: the provider's advertised ones, restricted to asymmetric algorithms. */
export function signingAlgorithms(advertised: readonly string[] | undefined): JWSAlgorithm[] {
  if (!advertised || advertised.length === 0) return ['RS256'];
  const allowed = ASYMMETRIC_ALGORITHMS.filter((alg) => advertised.includes(alg));
  return allowed.length > 0 ? allowed : ['RS256'];
}

export function remoteKeySet(providerId: string, jwksUri: URL, timeoutMs: number): JWTVerifyGetKey {
  const classifyingFetch = async (url: string, init: RequestInit): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      // jose turns an aborted fetch (its own timeout) into JWKSTimeout.
      if (err instanceof Error && err.name === 'TimeoutError') throw err;
      throw new ProviderError(providerId, `${providerId}: fetching the JWKS failed: network error`, { transient: true, cause: { code: errorCode(err), status: undefined } });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new ProviderError(providerId, `${providerId}: fetching the JWKS failed: HTTP ${response.status}`, {
        transient: isTransientStatus(response.status),
        httpStatus: response.status,
        cause: { code: undefined, status: response.status },
      });
    }
    return response;
  };
  return createRemoteJWKSet(jwksUri, {
    timeoutDuration: timeoutMs,
    headers: { 'user-agent': USER_AGENT },
    [customFetch]: classifyingFetch,
  });
}

export interface JwtExpectations {
  issuer: string | string[];
  audience: string;
  algorithms: JWSAlgorithm[];
  now: () => number;
  requiredClaims: string[];
}

/** Clock skew allowed in `exp`, `iat` and `nbf` checks. */
const CLOCK_TOLERANCE_SECONDS = 30;

export interface VerifiedJwt {
  payload: JWTPayload;
  protectedHeader: JWTHeaderParameters;
}

/** Verifies signature and registered claims. `what` names the token in error messages. */
export async function verifyJwt(providerId: string, what: string, token: string, keys: JWTVerifyGetKey, expect: JwtExpectations): Promise<VerifiedJwt> {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys, {
      issuer: expect.issuer,
      audience: expect.audience,
      algorithms: expect.algorithms,
      currentDate: new Date(expect.now()),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: expect.requiredClaims,
    });
    return { payload, protectedHeader };
  } catch (err) {
    throw classifyJoseFailure(providerId, what, err);
  }
}

function classifyJoseFailure(providerId: string, what: string, err: unknown): Error {
  if (err instanceof ProviderError) return err;
  if (err instanceof errors.JWKSTimeout) {
    return new ProviderError(providerId, `${providerId}: fetching the JWKS timed out`, { transient: true, cause: { code: err.code, status: undefined } });
  }
  if (err instanceof errors.JWKSInvalid || (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC')) {
    return new ProviderError(providerId, `${providerId}: the JWKS could not be read`, { transient: false, cause: { code: err.code, status: undefined } });
  }
  if (err instanceof errors.JOSEError) {
    const claim = err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired ? ` (${err.claim}: ${err.reason})` : '';
    return new BadRequestError(`${what} rejected: ${err.code}${claim}`, { cause: { code: err.code } });
  }
  return new BadRequestError(`${what} rejected`, { cause: { code: errorCode(err) } });
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown; cause?: { code?: unknown } }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' ? code : undefined;
}
