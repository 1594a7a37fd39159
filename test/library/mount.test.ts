import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApiEcho, type SampleApiHandle } from '../../demo/api.ts';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { createGateway, loadConfig, type Gateway } from '../../src/index.ts';
import { closeServer, reserveServer, testKeys } from '../auth/helpers/config.ts';
import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import { loginThroughGateway, type LoginResult } from '../support/login.ts';
import { readTextFrame, startTestUpstream, type TestUpstream } from '../proxy/upstream.ts';

/**
 * The README's "Mount it in an existing Koa app": the host app keeps its own routes and hands
 * /auth and /api to the gateway (ctx.respond = false, gateway.callback()). A user logs in through
 * the host's origin and the sample API receives the bearer token.
 */

let op: OpenIdProviderHandle;
let api: SampleApiHandle;
let gateway: Gateway;
let server: Server;
let origin: string;
let wsUpstream: TestUpstream;
let user: LoginResult;

beforeAll(async () => {
  ({ server, origin } = await reserveServer());
  op = await startOpenIdProvider({ clients: [{ clientId: 'host', clientSecret: 'host-secret', redirectUris: [`${origin}/auth/callback/op`] }] });
  api = await startSampleApi({ introspect: (token) => op.introspect(token) });
  wsUpstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  const config = loadConfig({
    env: {},
    object: {
      publicOrigin: origin,
      keys: testKeys(),
      providers: [{ id: 'op', type: 'oidc', issuer: op.issuer, clientId: 'host', clientSecret: 'host-secret' }],
      routes: [
        { prefix: '/api', upstream: api.url, stripPrefix: true },
        { prefix: '/api/live', upstream: wsUpstream.url },
      ],
      logging: { level: 'silent' },
    },
  });
  gateway = createGateway(config);
  await gateway.start();

  // --- as in the README ---
  const app = new Koa();
  const handle = gateway.callback();
  const ownedByGateway = (path: string) => /^\/(auth|api)(\/|$)/.test(path);
  app.use(async (ctx, next) => {
    if (!ownedByGateway(ctx.path)) return next();
    ctx.respond = false; // the gateway writes the response itself
    handle(ctx.req, ctx.res);
  });
  app.use(async (ctx) => {
    ctx.body = { host: 'still here', path: ctx.path };
  });
  server.on('request', app.callback());
  server.on('upgrade', gateway.upgrade);
  gateway.attach(server);
});

afterAll(async () => {
  await gateway?.close();
  await closeServer(server);
  await api?.close();
  await wsUpstream?.close();
  await op?.close();
});

describe('the gateway mounted in an existing Koa app', () => {
  it('leaves the host\'s own routes alone', async () => {
    const response = await fetch(`${origin}/dashboard`);
    expect(await response.json()).toEqual({ host: 'still here', path: '/dashboard' });
  });

  it('answers /auth itself: no session yet', async () => {
    const response = await fetch(`${origin}/auth/session`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'NO_SESSION' });
  });

  it('logs a user in on the host\'s origin and forwards /api with the bearer, never the session cookie', async () => {
    user = await loginThroughGateway(`${origin}/auth/login?returnTo=%2Fdashboard`, { username: DEMO_USER.username, password: DEMO_USER.password });
    expect(user.finalUrl).toBe(`${origin}/dashboard`);
    const call = await user.request(`${origin}/api/hello`, { headers: { 'x-csrf': '1' } });
    expect(call.status).toBe(200);
    expect(call.json<SampleApiEcho>()).toMatchObject({ sub: DEMO_USER.sub, path: '/hello' });
    const seen = api.requests.at(-1)!;
    expect(seen.hadAuthorization).toBe(true);
    // (the provider's own cookies for 127.0.0.1 come along; the session cookie never does)
    expect(seen.cookieNames.filter((name) => name.startsWith(gateway.config.session.cookieName))).toEqual([]);
  });

  it('passes WebSocket handshakes on a proxied route through gateway.upgrade, with the bearer', async () => {
    const cookie = await user.jar.getCookieString(origin);
    const echoed = await handshake(`${origin}/api/live/feed`, { cookie, origin });
    expect(echoed.url).toBe('/api/live/feed');
    expect(echoed.headers.authorization).toMatch(/^Bearer \S+$/);
    expect(String(echoed.headers.cookie ?? '')).not.toContain(gateway.config.session.cookieName);
  });
});

/** An RFC 6455 handshake; the test upstream's first frame echoes what it received. */
function handshake(url: string, headers: Record<string, string>): Promise<{ url: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
    });
    req.on('upgrade', (_res, socket, head) => {
      let data = head;
      const tryRead = () => {
        const text = readTextFrame(data);
        if (text === undefined) return;
        socket.destroy();
        resolve(JSON.parse(text) as { url: string; headers: IncomingHttpHeaders });
      };
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        tryRead();
      });
      tryRead();
    });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}
