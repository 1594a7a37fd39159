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
  await refreshSessions(loggedIn);
  $('cookie-view').textContent = document.cookie === '' ? '(empty: the session cookie is httpOnly)' : document.cookie;
}

// The user's sessions on every device, each named by an opaque handle (never a session id).
// The current one is marked; the others get a "Log out" button that ends that session only.
async function refreshSessions(loggedIn) {
  const list = $('sessions-list');
  list.replaceChildren();
  $('sessions-panel').hidden = !loggedIn;
  if (!loggedIn) return;
  const response = await fetch('/auth/sessions', { credentials: 'same-origin', cache: 'no-store' });
  const body = await readJson(response);
  if (!response.ok || !Array.isArray(body?.sessions)) {
    show($('sessions-status'), `Could not list the sessions (${response.status} ${body?.code ?? ''})`.trim(), 'error');
    return;
  }
  const count = body.sessions.length;
  show($('sessions-status'), count === 1 ? 'Logged in on this device only.' : `Logged in on ${count} devices${body.truncated ? ' (more not shown)' : ''}.`, 'idle');
  for (const entry of body.sessions) {
    const item = document.createElement('li');
    item.dataset.current = String(entry.current);
    const device = document.createElement('span');
    device.className = 'device';
    device.textContent = entry.device;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${entry.provider} · since ${new Date(entry.createdAt).toLocaleString()} · last used ${new Date(entry.lastUsedAt).toLocaleString()}`;
    item.append(device, meta);
    if (entry.current) {
      const mark = document.createElement('span');
      mark.className = 'this-device';
      mark.textContent = 'This device';
      item.append(mark);
    } else {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'end-session';
      button.textContent = 'Log out';
      button.addEventListener('click', () => endSession(entry.handle).catch((err) => show($('sessions-status'), String(err), 'error')));
      item.append(button);
    }
    list.append(item);
  }
}

async function endSession(handle) {
  const response = await fetch(`/auth/sessions/${encodeURIComponent(handle)}/logout`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { [CSRF_HEADER]: CSRF_VALUE },
  });
  const body = await readJson(response);
  await refreshSession();
  if (!response.ok) show($('sessions-status'), `Log out failed: ${response.status} ${body?.code ?? ''}`.trim(), 'error');
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
