import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { createGateway, type Gateway, type ListeningGateway } from '../../src/app.ts';
import { configSchema } from '../../src/config/schema.ts';
import { createMetrics } from '../../src/observability/index.ts';
import { captureLogger, type CapturedLog } from '../observability/capture.ts';
import { BrowserClient } from '../support/http.ts';
import { freePort } from '../support/ports.ts';

/**
 * Issue 12, item 1: a wrong issuer says why, at start (log), on every retry (log), in /readyz
 * (checks) and to the browser (the 503's class of cause, without the URL). Each wrong issuer is
 * a real thing on 127.0.0.1: a closed port, the real provider with a trailing slash, the real
 * provider reached through another port (its document names its own issuer), and plain HTTP
 * servers that are not providers.
 */

let op: OpenIdProviderHandle;
let notFound: Server;
let htmlPage: Server;
let relay: Server;
const servers: Server[] = [];

function serve(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler!);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

beforeAll(async () => {
  // Registered as the gateway below: the login pushes its request (RFC 9126), which the provider checks.
  op = await startOpenIdProvider({ clients: [{ clientId: 'tg', clientSecret: 'a-client-secret-that-must-not-leak', redirectUris: ['http://127.0.0.1:8080/auth/callback/op'] }] });
  notFound = await serve((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('nothing here'));
  htmlPage = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>my app</p>'));
  // The real provider, reached on another port: its document still names its own issuer.
  relay = await serve((req, res) => {
    const upstream = httpRequest(`${op.issuer}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(op.issuer).host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
});

afterAll(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await op?.close();
});

interface Started {
  gateway: Gateway;
  listening: ListeningGateway;
  log: CapturedLog;
}

async function gatewayFor(issuer: string): Promise<Started> {
  const log = captureLogger({ level: 'info' });
  const config = configSchema.parse({
    publicOrigin: 'http://127.0.0.1:8080',
    keys: { encryption: [{ kid: 'k1', key: randomBytes(32).toString('base64url') }], cookie: [randomBytes(32).toString('base64url')] },
    providers: [{ id: 'op', type: 'oidc', issuer, clientId: 'tg', clientSecret: 'a-client-secret-that-must-not-leak', timeout: '2s' }],
  });
  const gateway = createGateway(config, { logger: log.logger, metrics: createMetrics({ defaultMetrics: false }) });
  await gateway.start();
  const listening = await gateway.listen({ host: '127.0.0.1', port: 0 });
  return { gateway, listening, log };
}

function discoveryWarnings(log: CapturedLog): string[] {
  return log
    .lines()
    .filter((line) => line['event'] === 'provider_discovery_failed')
    .map((line) => String(line['cause']));
}

interface WrongIssuerCase {
  name: string;
  issuer: () => Promise<string>;
  /** In the log and /readyz. */
  cause: (issuer: string) => string;
  /** In the browser's 503. */
  browser: string;
}

const cases: WrongIssuerCase[] = [
  {
    name: 'a closed port',
    issuer: async () => `http://127.0.0.1:${await freePort()}`,
    cause: (issuer) => `op: discovery at ${issuer}/.well-known/openid-configuration failed: cannot connect (ECONNREFUSED)`,
    browser: 'the identity provider cannot be reached',
  },
  {
    name: 'the real provider with a trailing slash',
    issuer: async () => `${op.issuer}/`,
    cause: () => `the provider's issuer is "${op.issuer}" but the configured issuer is "${op.issuer}/" (they differ only in a trailing slash`,
    browser: "the identity provider's issuer does not match the configuration",
  },
  {
    name: 'the real provider on another port',
    issuer: async () => urlOf(relay),
    cause: (issuer) => `the provider's issuer is "${op.issuer}" but the configured issuer is "${issuer}" (issuer must equal`,
    browser: "the identity provider's issuer does not match the configuration",
  },
  {
    name: 'a plain HTTP server that answers 404',
    issuer: async () => urlOf(notFound),
    cause: (issuer) => `op: discovery at ${issuer}/.well-known/openid-configuration failed: HTTP 404`,
    browser: "the identity provider's discovery document was not found",
  },
  {
    name: 'a plain HTTP server that answers an HTML page',
    issuer: async () => urlOf(htmlPage),
    cause: () => 'HTTP 200 with a body that is not a JSON object: this is not an OpenID Provider',
    browser: 'the configured issuer is not an OpenID Provider',
  },
];

describe('a wrong issuer says why', () => {
  for (const wrong of cases) {
    it(`${wrong.name}: the start log, every retry, /readyz and the login 503 carry the cause`, async () => {
      const issuer = await wrong.issuer();
      const { gateway, listening, log } = await gatewayFor(issuer);
      try {
        // At start.
        expect(discoveryWarnings(log)).toHaveLength(1);
        expect(discoveryWarnings(log)[0]).toContain(wrong.cause(issuer));

        // /readyz: the failing name and the cause.
        const report = await gateway.readiness();
        expect(report.failing).toEqual(['provider:op']);
        expect(report.checks!['provider:op']).toEqual({ ok: false, error: expect.stringContaining(wrong.cause(issuer)) });
        expect(discoveryWarnings(log)).toHaveLength(2);

        // The login: 503 with the class of the cause, not the URL.
        const login = await fetch(`${listening.url}/auth/login`, { headers: { accept: 'application/json' } });
        expect(login.status).toBe(503);
        const body = (await login.json()) as { error: string; code: string };
        expect(body.code).toBe('TOKEN_SERVICE_UNAVAILABLE');
        expect(body.error).toBe(`Login is unavailable: ${wrong.browser}; try again later`);
        expect(body.error).not.toContain('127.0.0.1');
        expect(discoveryWarnings(log)).toHaveLength(3);
        // A person navigating there gets the same as a page, with Retry-After.
        const page = await new BrowserClient().request(`${listening.url}/auth/login`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
        expect(page.status).toBe(503);
        expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(page.headers['retry-after']).toBe('5');
        expect(page.text).toContain(`Login is unavailable: ${wrong.browser.replace(/'/g, '&#39;')}; try again later`);
        expect(page.text).toContain('<code>TOKEN_SERVICE_UNAVAILABLE</code>');
        expect(log.raw).not.toContain('a-client-secret-that-must-not-leak');
      } finally {
        await gateway.close({ graceMs: 0 });
      }
    });
  }

  it('never shows user info written into an issuer URL', async () => {
    const port = await freePort();
    const { gateway, log } = await gatewayFor(`http://someone:issuer-password@127.0.0.1:${port}`);
    try {
      expect(discoveryWarnings(log)[0]).toContain(`op: discovery at http://127.0.0.1:${port}/.well-known/openid-configuration failed: cannot connect (ECONNREFUSED)`);
      expect(log.raw).not.toContain('issuer-password');
      expect(JSON.stringify(await gateway.readiness())).not.toContain('issuer-password');
    } finally {
      await gateway.close({ graceMs: 0 });
    }
  });

  it('the right issuer: no warning, ready, login redirects to the provider', async () => {
    const { gateway, listening, log } = await gatewayFor(op.issuer);
    try {
      expect(discoveryWarnings(log)).toEqual([]);
      expect(await gateway.readiness()).toMatchObject({ ready: true, checks: { 'provider:op': { ok: true }, store: { ok: true } } });
      const login = await fetch(`${listening.url}/auth/login`, { redirect: 'manual' });
      expect(login.status).toBe(302);
      expect(login.headers.get('location')).toMatch(new RegExp(`^${op.issuer}/`));
    } finally {
      await gateway.close({ graceMs: 0 });
    }
  });
});
