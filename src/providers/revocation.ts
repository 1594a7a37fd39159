import { ProviderError } from '../errors.ts';
import type { RevocationOutcome, RevocationResult } from './types.ts';
import type { ClientAuth } from './client-auth.ts';
import { isSuccess, jsonObject, oauthErrorOf } from './answers.ts';
import type { HttpAnswer, ProviderHttp } from './http.ts';

/**
 * Token revocation (RFC 7009): the refresh token first (revoking it ends the grant at most
 * providers), then the access token, each with its `token_type_hint`. A provider or network
 * failure (a ProviderError, its `cause`) or an unexpected answer makes the outcome `failed`, so
 * the caller retries later; anything else is a bug and is thrown.
 */

export type TokenOutcome = RevocationOutcome;

/** RFC 7009 2.2: `invalid_token` means there is nothing left to revoke; that is success. */
export function revocationAnswerOutcome(answer: HttpAnswer): TokenOutcome {
  if (isSuccess(answer.status)) return 'revoked';
  const oauthError = oauthErrorOf(jsonObject(answer));
  if (answer.status === 400 && oauthError === 'invalid_token') return 'revoked';
  if (answer.status === 400 && oauthError === 'unsupported_token_type') return 'unsupported';
  return 'failed';
}

/**
 * Sends one revocation call. The provider not answering (a ProviderError) is an outcome, `failed`
 * with the error as `cause`: the caller logs it and retries, and the logout goes on whatever the
 * provider answered. Any other error is a bug and is thrown.
 */
export async function attemptRevocation(send: () => Promise<HttpAnswer>, judge: (answer: HttpAnswer) => TokenOutcome = revocationAnswerOutcome): Promise<RevocationResult> {
  let answer: HttpAnswer;
  try {
    answer = await send();
  } catch (err) {
    if (err instanceof ProviderError) return { outcome: 'failed', cause: err };
    throw err;
  }
  const outcome = judge(answer);
  return outcome === 'failed' ? { outcome, httpStatus: answer.status } : { outcome };
}

/** One result for several tokens: any failure fails (the first one's details), all unsupported is unsupported. */
export function combineOutcomes(results: readonly RevocationResult[]): RevocationResult {
  const failed = results.find((result) => result.outcome === 'failed');
  if (failed !== undefined) return failed;
  if (results.length > 0 && results.every((result) => result.outcome === 'unsupported')) return { outcome: 'unsupported' };
  return { outcome: 'revoked' };
}

export interface Rfc7009Revocation {
  endpoint: string | URL;
  auth: ClientAuth;
  tokens: { accessToken?: string | undefined; refreshToken?: string | undefined };
}

export async function revokeRfc7009(http: ProviderHttp, revocation: Rfc7009Revocation): Promise<RevocationResult> {
  const outcomes: RevocationResult[] = [];
  const pairs: Array<[string | undefined, string]> = [
    [revocation.tokens.refreshToken, 'refresh_token'],
    [revocation.tokens.accessToken, 'access_token'],
  ];
  for (const [token, hint] of pairs) {
    if (!token) continue;
    outcomes.push(
      await attemptRevocation(() =>
        http.send('token revocation', {
          method: 'POST',
          url: revocation.endpoint,
          headers: { accept: 'application/json' },
          form: { token, token_type_hint: hint },
          auth: revocation.auth,
          retry: 'network',
        }),
      ),
    );
  }
  return combineOutcomes(outcomes);
}
