import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApiEcho, type SampleApiHandle } from '../../demo/api.ts';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { BrowserClient } from '../support/http.ts';
import { loginThroughGateway } from '../support/login.ts';
import { onFreePort } from '../support/ports.ts';
import { runCli, startCliReady, type RunningCli } from './run-cli.ts';

/** `tokengate dev` in front of the sample API, logging in at the real demo OpenID Provider. */

const clientSecret = generateKey();
let op: OpenIdProviderHandle;
let api: SampleApiHandle;
let port: number;
let dev: RunningCli;

beforeAll(async () => {
  // The port is in the redirect URI the provider registers before dev starts: when it is taken
  // meanwhile, provider, API and dev start again on another one.
  api = await startSampleApi({ introspect: (token) => op.introspect(token) });
  await onFreePort(async (free) => {
    port = free;
    op = await startOpenIdProvider({ clients: [{ clientId: 'dev-client', clientSecret, redirectUris: [`http://localhost:${port}/auth/callback/dev`] }] });
    try {
      dev = await startCliReady(['dev', '--upstream', api.url, '--issuer', op.issuer, '--client-id', 'dev-client', '--port', String(port)], { env: { TOKENGATE_PROVIDER_DEV_CLIENT_SECRET: clientSecret } }, /Ctrl-C stops/);
    } catch (err) {
      await op.close();
      throw err;
    }
  });
});

afterAll(async () => {
  await dev?.stop();
  await api?.close();
  await op?.close();
});

describe('tokengate dev', () => {
  it('prints the URL to open and the URIs to register, and warns about ephemeral keys', () => {
    const { stdout } = dev.output();
    expect(stdout).toContain(`Open          http://localhost:${port}/`);
    expect(stdout).toContain(`Redirect URI (callback)   http://localhost:${port}/auth/callback/dev`);
    expect(stdout).toContain(`Post-logout redirect URI  http://localhost:${port}/`);
    expect(stdout).toContain(`Back-channel logout URI   http://localhost:${port}/auth/backchannel-logout/dev`);
    expect(stdout).toMatch(/WARN.*ephemeral keys/);
    expect(stdout).toMatch(/WARN.*plain-http public origin/);
  });

  it('redirects a page navigation on 127.0.0.1 to the same path on localhost, and serves API calls there', async () => {
    const navigation = await new BrowserClient().request(`http://127.0.0.1:${port}/some/page?x=1`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    expect(navigation.status).toBe(308);
    expect(navigation.location).toBe(`http://localhost:${port}/some/page?x=1`);
    // A Host the client chose is never the target.
    const forged = await new BrowserClient().request(`http://127.0.0.1:${port}/auth/login`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', host: 'evil.example' },
    });
    expect(forged.location).toBe(`http://localhost:${port}/auth/login`);
  });

  it('answers /auth/session with 401 JSON on plain HTTP, on 127.0.0.1', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/auth/session`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'Not logged in', code: 'NO_SESSION' });
  });

  it('forwards anonymous requests without a token, and logged-in ones with the bearer', async () => {
    const anonymous = await new BrowserClient().request(`http://localhost:${port}/hello`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json()).toEqual({ error: 'missing_token' });

    const user = await loginThroughGateway(`http://localhost:${port}/auth/login?returnTo=%2Fhello`, { username: DEMO_USER.username, password: DEMO_USER.password });
    expect(user.finalUrl).toBe(`http://localhost:${port}/hello`);
    // The provider (127.0.0.1) is another site than localhost. The callback's page moves on to
    // returnTo from the gateway's own site, so that first request carries the SameSite=Strict
    // session cookie already.
    expect(user.status).toBe(200);
    expect(user.response.json<SampleApiEcho>().sub).toBe(DEMO_USER.sub);
    const call = await user.request(`http://localhost:${port}/hello?after=login`);
    expect(call.status).toBe(200);
    expect(call.json<SampleApiEcho>().sub).toBe(DEMO_USER.sub);
    expect(api.requests.at(-1)!.hadAuthorization).toBe(true);
    expect(api.requests.at(-1)!.hadCookie).toBe(false);
  });

  it('never prints the client secret', () => {
    const { stdout, stderr } = dev.output();
    expect(`${stdout}${stderr}`).not.toContain(clientSecret);
  });
});

describe('tokengate dev usage', () => {
  it.each([
    [['--issuer', 'http://127.0.0.1:1', '--client-id', 'x'], '--upstream URL is required'],
    [['--upstream', 'http://127.0.0.1:1', '--client-id', 'x'], 'give either --issuer URL or --provider'],
    [['--upstream', 'http://127.0.0.1:1', '--provider', 'gitlab', '--client-id', 'x'], '--provider must be github, google or discord'],
  ])('%j is wrong usage (exit 2)', async (args, message) => {
    const result = await runCli(['dev', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('a provider without a client secret anywhere is an invalid configuration (exit 1)', async () => {
    const result = await runCli(['dev', '--upstream', 'http://127.0.0.1:1', '--provider', 'github', '--client-id', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--client-secret: required: give --client-secret, or set TOKENGATE_PROVIDER_GITHUB_CLIENT_SECRET (or TOKENGATE_PROVIDER_GITHUB_CLIENT_SECRET_FILE');
    expect(result.stderr).not.toContain('providers.0');
  });

  it('names the flag, not the config path, for a bad value (exit 1)', async () => {
    const result = await runCli(['dev', '--upstream', 'ftp://127.0.0.1:1', '--issuer', 'not a url', '--client-id', 'x', '--client-secret', 'y', '--redis', 'http://127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--upstream: must be an http(s) URL');
    expect(result.stderr).toContain('--issuer: must be an http(s) URL');
    expect(result.stderr).toContain('--redis: must be a redis:// or rediss:// URL');
    expect(result.stderr).not.toMatch(/routes\.0|providers\.0|store\.redis/);
  });

  it('names --port when the port is taken (exit 3)', async () => {
    const result = await runCli(['dev', '--upstream', 'http://127.0.0.1:1', '--issuer', 'http://127.0.0.1:1', '--client-id', 'x', '--client-secret', 'y', '--port', String(port)]);
    expect(result.code).toBe(3);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(
      `tokengate: cannot listen on 127.0.0.1:${port} (main listener, listen.port (tokengate dev: --port)): EADDRINUSE: the address is in use (is another Tokengate still running or draining there?); stop it, or give this one another port with listen.port (tokengate dev: --port)`,
    );
  });
});
