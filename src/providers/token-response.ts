import { ProviderError } from '../errors.ts';
import { ProviderTokens } from './types.ts';
import { answerFailure, expectJsonObject, oauthErrorOf, optionalSeconds, optionalString } from './answers.ts';
import type { HttpAnswer } from './http.ts';

/**
 * Reads a token endpoint answer (RFC 6749 section 5) into ProviderTokens. An `error` field is a
 * failure even on HTTP 200, which is how GitHub reports `bad_verification_code` and
 * `bad_refresh_token`; such errors are never transient. `tokenType`: the `token_type` the request
 * asked for, Bearer, or DPoP when it carried a DPoP proof (RFC 9449 section 5: a provider that
 * answers Bearer did not bind the token, and the gateway would send it where DPoP was configured).
 */
export function readTokenAnswer(providerId: string, operation: string, answer: HttpAnswer, tokenType: 'bearer' | 'dpop' = 'bearer'): ProviderTokens {
  const body = expectJsonObject(providerId, operation, answer);
  const oauthError = oauthErrorOf(body);
  if (oauthError !== undefined || body['error'] !== undefined) {
    throw new ProviderError(providerId, `${providerId}: ${operation} failed: HTTP ${answer.status} with error ${oauthError ?? '(unreadable)'}`, {
      oauthError,
      transient: false,
      httpStatus: answer.status,
      cause: { code: undefined, status: answer.status },
    });
  }
  const accessToken = optionalString(body, 'access_token');
  if (accessToken === undefined) throw answerFailure(providerId, operation, answer, 'no access_token');
  const answered = optionalString(body, 'token_type');
  if (tokenType === 'bearer' ? answered !== undefined && answered.toLowerCase() !== 'bearer' : answered?.toLowerCase() !== 'dpop') {
    throw answerFailure(providerId, operation, answer, `unsupported token_type ${JSON.stringify((answered ?? '(none)').slice(0, 20))}`);
  }
  return new ProviderTokens({
    accessToken,
    refreshToken: optionalString(body, 'refresh_token'),
    idToken: optionalString(body, 'id_token'),
    expiresIn: optionalSeconds(body, 'expires_in'),
    refreshTokenExpiresIn: optionalSeconds(body, 'refresh_token_expires_in'),
    scope: optionalString(body, 'scope'),
    tokenType: tokenType === 'bearer' ? 'Bearer' : 'DPoP',
  });
}
