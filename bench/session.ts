import { Agent, request } from 'node:http';
import { DEMO_USER } from '../demo/op.ts';
import { loginThroughGateway } from '../test/support/login.ts';
import { API_PATH, loginUrl } from './gateway-config.ts';

/**
 * A real session for the load: a real login through the gateway against the demo OpenID
 * Provider (its own login and consent forms), then the browser's Cookie header for the gateway.
 */
export interface BenchSession {
  /** The Cookie header a browser would send to the gateway. */
  cookie: string;
  /** When the login finished (epoch ms): the access token was obtained before this. */
  loggedInAt: number;
}

export async function loginForLoad(gatewayUrl: string): Promise<BenchSession> {
  const login = await loginThroughGateway(loginUrl(gatewayUrl), { username: DEMO_USER.username, password: DEMO_USER.password });
  const loggedInAt = Date.now();
  if (new URL(login.finalUrl).origin !== new URL(gatewayUrl).origin) {
    throw new Error(`login did not come back to the gateway (stopped at status ${login.status})`);
  }
  const cookie = await login.jar.getCookieString(`${gatewayUrl}${API_PATH}`);
  if (cookie === '') throw new Error('login set no session cookie');
  return { cookie, loggedInAt };
}

/**
 * The headers of an API call by the logged-in SPA: the session cookie and the CSRF header, which
 * proxied routes require on every method (the gateway's default `x-csrf: 1`).
 */
export function apiHeaders(cookie: string): Record<string, string> {
  return { cookie, 'x-csrf': '1' };
}

/** One proxied request with the session; throws unless it is a 200, so a row never measures errors. */
export async function assertProxied(gatewayUrl: string, cookie: string): Promise<void> {
  const status = await getStatus(`${gatewayUrl}${API_PATH}`, apiHeaders(cookie));
  if (status !== 200) {
    throw new Error(`GET ${API_PATH} through the gateway answered ${status}, not 200: is the /api route proxied and the session valid?`);
  }
}

/**
 * `count` GETs one after another on one keep-alive connection, for counting store round trips
 * per request without concurrency blurring them.
 */
export async function sequentialRequests(url: string, headers: Record<string, string>, count: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let ok = 0;
  try {
    for (let i = 0; i < count; i += 1) {
      if ((await getStatus(url, headers, agent)) === 200) ok += 1;
    }
  } finally {
    agent.destroy();
  }
  return ok;
}

function getStatus(url: string, headers: Record<string, string>, agent?: Agent): Promise<number> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers, agent: agent ?? false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${target.pathname} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
