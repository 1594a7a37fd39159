import { ProviderError } from '../errors.ts';
import { ProviderTokens } from './types.ts';
import { answerFailure, expectJsonObject, oauthErrorOf, optionalSeconds, optionalString } from './answers.ts';
import type { HttpAnswer } from './http.ts';

/**
 * Reads a token endpoint answer (RFC 6749 section 5) into ProviderTokens. An `error` field is a
 * failure even on HTTP 200, which is how GitHub reports `bad_verification_code` and
 * `bad_refresh_token`; such errors are never transient.
 */
export function readTokenAnswer(providerId: string, operation: string, answer: HttpAnswer): ProviderTokens {
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
  const tokenType = optionalString(body, 'token_type');
  if (tokenType !== undefined && tokenType.toLowerCase() !== 'bearer') {
    throw answerFailure(providerId, operation, answer, `unsupported token_type ${JSON.stringify(tokenType.slice(0, 20))}`);
  }
  return new ProviderTokens({
    accessToken,
    refreshToken: optionalString(body, 'refresh_token'),
    idToken: optionalString(body, 'id_token'),
    expiresIn: optionalSeconds(body, 'expires_in'),
    refreshTokenExpiresIn: optionalSeconds(body, 'refresh_token_expires_in'),
    scope: optionalString(body, 'scope'),
    tokenType: 'Bearer',
  });
}
