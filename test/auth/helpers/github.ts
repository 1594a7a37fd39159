import { randomBytes } from 'node:crypto';
import { http, HttpResponse } from 'msw';
import { RequestLog, formOf } from '../../providers/support/msw.ts';

/**
 * GitHub's endpoints over msw, scripted per authorization code:
 *   html     the token endpoint answers an HTML page
 *   badjson  it answers broken JSON
 *   boom     it answers 500
 *   anything else: a fresh token, once; the same code again gets GitHub's HTTP 200
 *   `bad_verification_code`.
 * `mode` picks OAuth App tokens (never expire, no refresh token) or GitHub App user tokens
 * (8 hours, single-use refresh token with its own lifetime). Every token issued is kept, for
 * the leak check; `grantAnswers` scripts the revocation endpoint's next answers; `accounts` gives
 * a code another user than OCTO (`GET /user` with its token answers that user).
 */

export const GITHUB_TOKEN_URL = 'https://github.com/login/oauth/access_token';
export const GITHUB_USER_URL = 'https://api.github.com/user';
export const GITHUB_GRANT_URL = 'https://api.github.com/applications/:clientId/grant';

export const OCTO = { id: 4242, login: 'octo', name: 'Octo Cat', email: 'octo@example.test', avatar_url: 'https://avatars.example.test/u/4242' };

export interface GithubScript {
  mode: 'oauth-app' | 'github-app';
  refreshTokenExpiresIn: number;
  /** Statuses for the next revocation calls; 204 once empty. */
  grantAnswers: number[];
  issued: string[];
  /** Authorization code → the user its token belongs to (OCTO when absent). */
  accounts: Record<string, typeof OCTO>;
  log: RequestLog;
}

export function githubScript(): GithubScript {
  return { mode: 'oauth-app', refreshTokenExpiresIn: 15_811_200, grantAnswers: [], issued: [], accounts: {}, log: new RequestLog() };
}

export function githubHandlers(script: GithubScript) {
  const usedCodes = new Set<string>();
  const owners = new Map<string, typeof OCTO>();
  let account = OCTO;
  const token = (prefix: string) => {
    const value = `${prefix}_${randomBytes(18).toString('base64url')}`;
    script.issued.push(value);
    owners.set(value, account);
    return value;
  };
  return [
    http.post(GITHUB_TOKEN_URL, async ({ request }) => {
      const code = formOf(await script.log.record(request))['code'] ?? '';
      if (code === 'html') return new HttpResponse('<html><body>Unicorn! Something went wrong.</body></html>', { status: 200, headers: { 'content-type': 'text/html' } });
      if (code === 'badjson') return new HttpResponse('{"access_token": "gho_trunc', { status: 200, headers: { 'content-type': 'application/json' } });
      if (code === 'boom') return HttpResponse.json({ message: 'Server Error' }, { status: 500 });
      if (usedCodes.has(code)) return HttpResponse.json({ error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      usedCodes.add(code);
      account = script.accounts[code] ?? OCTO;
      if (script.mode === 'oauth-app') return HttpResponse.json({ access_token: token('gho'), token_type: 'bearer', scope: 'read:user' });
      return HttpResponse.json({
        access_token: token('ghu'),
        expires_in: 28_800,
        refresh_token: token('ghr'),
        refresh_token_expires_in: script.refreshTokenExpiresIn,
        token_type: 'bearer',
        scope: '',
      });
    }),
    http.get(GITHUB_USER_URL, async ({ request }) => {
      await script.log.record(request);
      const bearer = request.headers.get('authorization')?.replace(/^Bearer /, '');
      if (bearer === undefined || !script.issued.includes(bearer)) return HttpResponse.json({ message: 'Bad credentials' }, { status: 401 });
      return HttpResponse.json(owners.get(bearer) ?? OCTO);
    }),
    http.delete(GITHUB_GRANT_URL, async ({ request }) => {
      await script.log.record(request);
      const status = script.grantAnswers.shift() ?? 204;
      return status === 204 ? new HttpResponse(null, { status }) : HttpResponse.json({ message: 'Server Error' }, { status });
    }),
  ];
}
