import pino from 'pino';
import { createGateway, type Gateway, type ListeningGateway } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { startSampleApi, type SampleApiHandle } from '../../demo/api.ts';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { startNginx, type NginxHandle } from './nginx.ts';
import { freePort } from './ports.ts';

/**
 * The forward-auth tests' servers, all real and on 127.0.0.1: the demo OpenID Provider, the
 * sample API, Tokengate's main listener and its forward-auth listener. The public origin is the
 * ingress in front (nginx, `protectWithNginx`), whose port is chosen first because the
 * provider's redirect URI and the config name it. The clock can be moved forward to make a
 * token due for refresh.
 */

export interface ForwardAuthStack {
  publicOrigin: string;
  ingressPort: number;
  op: OpenIdProviderHandle;
  api: SampleApiHandle;
  gateway: Gateway;
  main: ListeningGateway;
  /** The forward-auth listener, bound from the gateway's own listener list. */
  verify: ListeningGateway;
  config: Config;
  /** Moves the gateway's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export const CLIENT_ID = 'tokengate-fa';
export const SHARED_SECRET = 'ingress-only-secret-0123456789abcdef';

export interface ForwardAuthStackOptions {
  sharedSecret?: boolean;
  /** No ingress in front: the main listener takes the public origin's port itself. */
  mainIsPublic?: boolean;
  /**
   * The public origin's host name (default 127.0.0.1, the provider's own). `localhost` puts
   * the gateway on another site than the provider, as in production, for browsers' SameSite.
   */
  publicHost?: '127.0.0.1' | 'localhost';
}

export async function startForwardAuthStack(options: ForwardAuthStackOptions = {}): Promise<ForwardAuthStack> {
  const ingressPort = await freePort();
  const publicOrigin = `http://${options.publicHost ?? '127.0.0.1'}:${ingressPort}`;
  const clientSecret = generateKey();
  let offset = 0;
  const now = () => Date.now() + offset;

  const op = await startOpenIdProvider({
    clients: [{ clientId: CLIENT_ID, clientSecret, redirectUris: [`${publicOrigin}/auth/callback/op`] }],
  });
  const api = await startSampleApi({ introspect: (token) => op.introspect(token) });
  const config = loadConfig({
    env: {},
    object: {
      publicOrigin,
      listen: { host: '127.0.0.1', port: 0 },
      keys: { encryption: [{ kid: 't1', key: generateKey() }], cookie: [generateKey()] },
      store: { type: 'memory' },
      session: { idleTimeout: '4h', absoluteTimeout: '12h' },
      providers: [{ id: 'op', type: 'oidc', issuer: op.issuer, clientId: CLIENT_ID, clientSecret, scopes: ['openid', 'profile', 'email', 'offline_access'] }],
      forwardAuth: {
        enabled: true,
        listen: { host: '127.0.0.1', port: 0 },
        ...(options.sharedSecret ? { sharedSecret: SHARED_SECRET } : {}),
      },
      logging: { level: 'silent' },
    },
  });
  const logger = pino({ level: 'silent' });
  const gateway = createGateway(config, { logger, now });
  await gateway.start();
  const main = await gateway.listen({ port: options.mainIsPublic ? ingressPort : 0 });
  const verify = await gateway.listen({ listener: 'forward-auth', port: 0 });

  return {
    publicOrigin,
    ingressPort,
    op,
    api,
    gateway,
    main,
    verify,
    config,
    advance(ms) {
      offset += ms;
    },
    async close() {
      await gateway.close();
      await api.close();
      await op.close();
    },
  };
}

const DEPLOY_NGINX = new URL('../../deploy/nginx/', import.meta.url).pathname;

/**
 * A real nginx on the stack's ingress port, configured with the very files shipped in
 * deploy/nginx/: /auth/ to the main listener, every other path (/api/ and pages) protected by
 * `auth_request` against the forward-auth listener and proxied to the sample API.
 */
export function protectWithNginx(stack: ForwardAuthStack): Promise<NginxHandle> {
  const port = (url: string) => new URL(url).port;
  const protectedLocation = (path: string) => `
    location ${path} {
      include ${DEPLOY_NGINX}tokengate-protect.conf;
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;
  return startNginx({
    port: stack.ingressPort,
    http: `
  upstream tokengate { server 127.0.0.1:${port(stack.main.url)}; keepalive 4; }
  upstream tokengate_verify { server 127.0.0.1:${port(stack.verify.url)}; keepalive 4; }
  upstream api { server 127.0.0.1:${port(stack.api.url)}; keepalive 4; }`,
    server: `
    set $tokengate_forward_auth_secret "";
    include ${DEPLOY_NGINX}tokengate-server.conf;${protectedLocation('/api/')}${protectedLocation('/')}`,
  });
}
