// The demo SPA. It never sees a token: the session cookie is httpOnly, and Tokengate adds the
// bearer token when it forwards /api calls. Every API call, GET included, carries the CSRF header
// that the demo gateway is configured with (csrf.header / csrf.value): API routes require it on
// every method, so a cross-site GET cannot reach the API with the user's token.
const CSRF_HEADER = 'x-csrf';
const CSRF_VALUE = '1';

const $ = (id) => document.getElementById(id);

function show(element, text, state) {
  element.textContent = text;
  element.dataset.state = state;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

async function refreshSession() {
  const response = await fetch('/auth/session', { credentials: 'same-origin', cache: 'no-store' });
  const body = await readJson(response);
  const loggedIn = response.ok && body?.authenticated === true;
  if (loggedIn) {
    const { user } = body;
    show($('session-status'), `Logged in as ${user.name ?? user.sub}`, 'ok');
    $('session-name').textContent = user.name ?? '—';
    $('session-email').textContent = user.email ?? '—';
    $('session-sub').textContent = user.sub;
    $('session-provider').textContent = user.provider;
    $('session-expires').textContent = new Date(body.expiresAt).toLocaleString();
  } else {
    show($('session-status'), `Not logged in (${response.status} ${body?.code ?? ''})`.trim(), 'idle');
  }
  $('session-details').hidden = !loggedIn;
  if (loggedIn) $('provider-logout').hidden = true;
  $('login').disabled = loggedIn;
  $('logout').disabled = !loggedIn;
  $('cookie-view').textContent = document.cookie === '' ? '(empty: the session cookie is httpOnly)' : document.cookie;
}

async function callApi() {
  show($('api-status'), 'Calling…', 'loading');
  const response = await fetch('/api/hello?from=demo', {
    credentials: 'same-origin',
    headers: { [CSRF_HEADER]: CSRF_VALUE, accept: 'application/json' },
  });
  const body = await readJson(response);
  if (response.ok) {
    show($('api-status'), `${response.status}: the API saw subject ${body.sub}`, 'ok');
    $('api-result').textContent = JSON.stringify({ sub: body.sub, method: body.method, path: body.path, authorization: body.headers?.authorization }, null, 2);
  } else {
    show($('api-status'), `${response.status}: ${body?.code ?? body?.error ?? response.statusText}`, 'error');
    $('api-result').textContent = JSON.stringify(body, null, 2);
  }
  $('api-result').hidden = false;
}

async function logout() {
  const response = await fetch('/auth/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { [CSRF_HEADER]: CSRF_VALUE },
  });
  const body = await readJson(response);
  show($('api-status'), response.ok ? 'Logged out. Call the API again: it answers 401.' : `Logout failed: ${response.status}`, response.ok ? 'idle' : 'error');
  $('api-result').hidden = true;
  await refreshSession();
  // RP-initiated logout: the provider's own session outlives ours unless the user ends it too.
  if (response.ok && body?.endSessionUrl) {
    $('provider-logout-link').href = body.endSessionUrl;
    $('provider-logout').hidden = false;
  }
}

$('login').addEventListener('click', () => {
  window.location.assign(`/auth/login?returnTo=${encodeURIComponent(window.location.pathname)}`);
});
$('call-api').addEventListener('click', () => callApi().catch((err) => show($('api-status'), String(err), 'error')));
$('logout').addEventListener('click', () => logout().catch((err) => show($('api-status'), String(err), 'error')));
refreshSession().catch((err) => show($('session-status'), String(err), 'error'));
