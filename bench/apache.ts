import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_USER } from '../demo/op.ts';
import { completeProviderForms } from '../test/support/login.ts';
import { BrowserClient } from '../test/support/http.ts';
import { API_PATH } from './gateway-config.ts';

/**
 * Row (m): Apache httpd with mod_auth_openidc from Debian's packages, the established way to put
 * an OpenID Connect login in front of an upstream, configured to do what Tokengate does: a
 * session cookie in, the access token out as `Authorization: Bearer` to the same upstream,
 * sessions in the same Redis, logged in through the same OpenID Provider's forms. It runs as a
 * child in the foreground with its own config in a temp dir, on a loopback port, event MPM with
 * one child process. Missing packages: the row is skipped, and says why.
 */

const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const NEEDED = ['mod_mpm_event.so', 'mod_authn_core.so', 'mod_authz_core.so', 'mod_authz_user.so', 'mod_auth_openidc.so', 'mod_proxy.so', 'mod_proxy_http.so', 'mod_headers.so'];

export interface ApacheSetup {
  port: number;
  issuer: string;
  client: { clientId: string; clientSecret: string };
  upstream: string;
  redis: { host: string; port: number };
}

export interface ApacheHandle {
  readonly url: string;
  /** The parent process; its children serve the requests. */
  readonly pid: number;
  /** The parent and its children (for CPU and memory). */
  pids(): Promise<number[]>;
  /** The end of httpd's error log (for a failure's message). */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Why the row cannot run here, or undefined when it can. */
export function apacheMissing(): string | undefined {
  if (!existsSync(APACHE)) return `${APACHE} is not installed (Debian: apt-get install apache2 libapache2-mod-auth-openidc)`;
  const missing = NEEDED.filter((module) => !existsSync(join(MODULES, module)));
  if (missing.length > 0) return `Apache modules missing: ${missing.join(', ')} (Debian: apt-get install libapache2-mod-auth-openidc)`;
  return undefined;
}

/** The redirect URI mod_auth_openidc answers the provider on (register it with the client). */
export function apacheRedirectUri(port: number): string {
  return `http://127.0.0.1:${port}/redirect_uri`;
}

export async function startApache(setup: ApacheSetup): Promise<ApacheHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'tokengate-bench-apache-'));
  // The children run as www-data (httpd will not serve as root) and must read the config dir.
  await chmod(dir, 0o755);
  const conf = join(dir, 'httpd.conf');
  await writeFile(conf, apacheConfig(setup, dir));
  const child = spawn(APACHE, ['-f', conf, '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const url = `http://127.0.0.1:${setup.port}`;
  try {
    await waitForListening(child, url, () => stderr, dir);
  } catch (err) {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    pids: async () => [child.pid!, ...(await childrenOf(child.pid!))],
    errorLog: async () => (await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')).slice(-1500),
    stop: async () => {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Logs in through Apache: the protected URL, the provider's forms, back to Apache; answers the Cookie header. */
export async function loginThroughApache(url: string): Promise<string> {
  const client = new BrowserClient();
  // A page navigation (mod_auth_openidc answers API-looking requests 401 instead of redirecting).
  const start = await client.navigate(`${url}${API_PATH}`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
  const back = await completeProviderForms(client, start, new URL(url).origin, { username: DEMO_USER.username, password: DEMO_USER.password });
  if (back.response.status !== 200 || new URL(back.response.url).origin !== new URL(url).origin) {
    throw new Error(`the login through Apache ended with ${back.response.status} at ${new URL(back.response.url).pathname}`);
  }
  const cookie = await client.jar.getCookieString(`${url}${API_PATH}`);
  if (cookie === '') throw new Error('the login through Apache set no session cookie');
  return cookie;
}

function apacheConfig(setup: ApacheSetup, dir: string): string {
  const modules = NEEDED.map((file) => `LoadModule ${file.replace(/^mod_/, '').replace(/\.so$/, '')}_module ${join(MODULES, file)}`);
  return `# Tokengate bench: Apache + mod_auth_openidc, generated per run.
${modules.join('\n')}
ServerName 127.0.0.1
Listen 127.0.0.1:${setup.port}
PidFile ${join(dir, 'httpd.pid')}
DefaultRuntimeDir ${dir}
ErrorLog ${join(dir, 'error.log')}
LogLevel warn
User www-data
Group www-data
Mutex posixsem
# One child process (like one Node gateway process), threads to carry the connections.
StartServers 1
ServerLimit 1
ThreadsPerChild 128
ThreadLimit 128
MaxRequestWorkers 128
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30

OIDCProviderMetadataURL ${setup.issuer}/.well-known/openid-configuration
OIDCClientID ${setup.client.clientId}
OIDCClientSecret ${setup.client.clientSecret}
OIDCRedirectURI ${apacheRedirectUri(setup.port)}
OIDCCryptoPassphrase ${randomBytes(24).toString('base64url')}
OIDCScope "openid profile email"
OIDCPKCEMethod S256
OIDCSessionType server-cache
OIDCCacheType redis
OIDCRedisCacheServer ${setup.redis.host}:${setup.redis.port}
OIDCPassClaimsAs environment
OIDCSessionInactivityTimeout 3600

<Location />
  AuthType openid-connect
  Require valid-user
</Location>
ProxyPass /api ${setup.upstream}/api
RequestHeader set Authorization "Bearer %{OIDC_access_token}e" env=OIDC_access_token
`;
}

async function waitForListening(child: ChildProcess, url: string, stderr: () => string, dir: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      throw new Error(`apache2 exited with ${child.exitCode}: ${(stderr() + log).slice(-800)}`);
    }
    try {
      const response = await fetch(url, { redirect: 'manual' });
      await response.body?.cancel();
      return;
    } catch {
      if (performance.now() > deadline) throw new Error(`apache2 did not listen on ${url} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter((value) => value !== '').map(Number);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // SIGTERM: httpd stops its children and exits.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
