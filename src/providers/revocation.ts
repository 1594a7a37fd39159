import type { RevocationOutcome } from './types.ts';
import type { ClientAuth } from './client-auth.ts';
import { isSuccess, jsonObject, oauthErrorOf } from './answers.ts';
import type { HttpAnswer, ProviderHttp } from './http.ts';

/**
 * Token revocation (RFC 7009): the refresh token first (revoking it ends the grant at most
 * providers), then the access token, each with its `token_type_hint`. Never throws: a network
 * error or an unexpected answer makes the outcome `failed`, so the caller retries later.
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

/** Sends one revocation call; any failure to get an answer is `failed`. */
export async function attemptRevocation(send: () => Promise<HttpAnswer>, judge: (answer: HttpAnswer) => TokenOutcome = revocationAnswerOutcome): Promise<TokenOutcome> {
  try {
    return judge(await send());
  } catch {
    // The contract reports revocation as an outcome, never as an exception: the caller logs
    // `failed` and retries, and the logout goes on whatever the provider answered.
    return 'failed';
  }
}

/** One outcome for several tokens: any failure fails, all unsupported is unsupported. */
export function combineOutcomes(outcomes: readonly TokenOutcome[]): RevocationOutcome {
  if (outcomes.includes('failed')) return 'failed';
  if (outcomes.length > 0 && outcomes.every((outcome) => outcome === 'unsupported')) return 'unsupported';
  return 'revoked';
}

export interface Rfc7009Revocation {
  endpoint: string | URL;
  auth: ClientAuth;
  tokens: { accessToken?: string | undefined; refreshToken?: string | undefined };
}

export async function revokeRfc7009(http: ProviderHttp, revocation: Rfc7009Revocation): Promise<RevocationOutcome> {
  const outcomes: TokenOutcome[] = [];
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
