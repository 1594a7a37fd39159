/**
 * The demo OpenID Provider's HTML: plain server-rendered forms that a browser (or the test
 * helper that parses forms) can fill in. Every interpolated value is escaped.
 */

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto}input,button{display:block;width:100%;margin:.5rem 0;padding:.5rem}.error{color:#b00020}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

export function loginPage(uid: string, clientName: string, options: { error?: string; loginHint?: string } = {}): string {
  const error = options.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(options.error)}</p>\n`;
  const hint = options.loginHint === undefined ? '' : ` value="${escapeHtml(options.loginHint)}"`;
  return page(
    'Sign in',
    `<p>to continue to ${escapeHtml(clientName)}</p>
${error}<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>Username <input type="text" name="login" required autofocus${hint}></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function consentPage(uid: string, clientName: string, scopes: readonly string[]): string {
  const items = scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  return page(
    'Authorize',
    `<p>${escapeHtml(clientName)} asks for:</p>
<ul>${items}</ul>
<form method="post" action="/interaction/${escapeHtml(uid)}/confirm">
<button type="submit">Allow</button>
</form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort">
<button type="submit">Deny</button>
</form>`,
  );
}

/**
 * RP-initiated logout confirmation. `form` is the library's own form (it carries the xsrf
 * field); the confirm button and `logout=yes` go inside it so a plain form submission signs out.
 */
export function logoutPage(form: string): string {
  const confirm = '<input type="hidden" name="logout" value="yes">\n<button type="submit">Sign out</button>\n</form>';
  return page('Sign out', form.replace(/<\/form>\s*$/, confirm));
}

export function logoutSuccessPage(): string {
  return page('Signed out', '<p>You are signed out.</p>');
}

export function errorPage(fields: Record<string, unknown>): string {
  const rows = Object.entries(fields)
    .filter(([, value]) => typeof value === 'string')
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value as string)}</p>`)
    .join('\n');
  return page('Error', rows);
}
