import { CookieJar } from 'tough-cookie';

/**
 * Walks the demo OpenID Provider's login without a browser: follows its redirects with a cookie
 * jar, submits the login form (username/password) and the consent form, and stops at the first
 * redirect to `redirectUri`, returning that URL (with `code`, `state` and `iss`).
 */
export async function loginAtProvider(authorizationUrl: URL, redirectUri: string, credentials = { login: 'demo', password: 'demo' }): Promise<URL> {
  const jar = new CookieJar();
  let next: { url: URL; method: 'GET' | 'POST'; form?: Record<string, string> } = { url: authorizationUrl, method: 'GET' };
  for (let step = 0; step < 12; step += 1) {
    const cookie = await jar.getCookieString(next.url);
    const response = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(next.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(next.form ? { body: new URLSearchParams(next.form) } : {}),
      signal: AbortSignal.timeout(5_000),
    });
    for (const setCookie of response.headers.getSetCookie()) await jar.setCookie(setCookie, next.url);
    const location = response.headers.get('location');
    if (location !== null) {
      await response.body?.cancel();
      const target = new URL(location, next.url);
      if (target.href.startsWith(redirectUri)) return target;
      next = { url: target, method: 'GET' };
      continue;
    }
    const html = await response.text();
    const action = /<form method="post" action="([^"]+\/(?:login|confirm))"/.exec(html)?.[1];
    if (response.status !== 200 || action === undefined) throw new Error(`login stopped at HTTP ${response.status} on ${next.url.pathname}`);
    const url = new URL(action.replaceAll('&amp;', '&'), next.url);
    next = { url, method: 'POST', form: action.endsWith('/login') ? credentials : {} };
  }
  throw new Error('login did not reach the redirect URI');
}
