import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createGateway, type Gateway, type ListeningGateway } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config/index.ts';
import { generateKey } from '../src/crypto/keyring.ts';
import { startSampleApi, type SampleApiHandle } from './api.ts';
import { startOpenIdProvider, type OpenIdProviderHandle } from './op.ts';
import { startSpaServer, type SpaServerHandle } from './spa/server.ts';

/**
 * The one-command demo (`scripts/demo`): on loopback, a real OpenID Provider with the user
 * demo/demo, the sample API, the sample SPA's files, and Tokengate on the memory store with
 * ephemeral keys, routing /api to the sample API (token required) and / to the SPA (public).
 *
 * `--without-gateway` starts everything but the gateway, on fixed ports, for deploy/compose.yaml
 * (where the gateway is the real image, with Redis).
 */

export interface DemoOptions {
  /** Gateway port; 0 picks a free one. Default 8080. */
  port?: number;
  /** OpenID Provider port; 0 picks a free one. Default 9000. */
  opPort?: number;
  /** Sample API and SPA ports; default 0 (free ones). */
  apiPort?: number;
  spaPort?: number;
  /** Default: a random one. deploy/compose.yaml shares one with the gateway container. */
  clientSecret?: string;
  /** Start no gateway (deploy/compose.yaml runs the real image instead). */
  withoutGateway?: boolean;
  logging?: Config['logging'];
  /** Replaces the gateway's logger (tests). */
  logger?: Logger;
}

export interface DemoStack {
  /** What to open: `http://localhost:<port>/`. */
  url: string;
  port: number;
  op: OpenIdProviderHandle;
  api: SampleApiHandle;
  spa: SpaServerHandle;
  gateway?: Gateway;
  listening?: ListeningGateway;
  config?: Config;
  close(): Promise<void>;
}

export const DEMO_PROVIDER_ID = 'demo';
/** Default ports; the API and SPA ones apply to --without-gateway (deploy/compose.yaml names them). */
export const DEMO_PORTS = { gateway: 8080, op: 9000, api: 3000, spa: 3001 } as const;
export const DEMO_CLIENT_ID = 'tokengate-demo';
/** The provider id `tokengate dev --issuer` gives its one provider (src/cli/dev.ts). */
export const DEV_PROVIDER_ID = 'dev';

/** A port the user cannot use: says which part wanted it and how to pick another. */
export class DemoPortError extends Error {
  constructor(what: string, port: number, flag: string) {
    super(`port ${port} (${what}) is already in use; choose another with ${flag} <port>`);
    this.name = 'DemoPortError';
  }
}

export async function startDemo(options: DemoOptions = {}): Promise<DemoStack> {
  // Without a gateway of its own the port only names where the other gateway will listen.
  const port = options.withoutGateway ? (options.port ?? DEMO_PORTS.gateway) : await concretePort(options.port ?? DEMO_PORTS.gateway, 'the gateway', '--port');
  const publicOrigin = `http://localhost:${port}`;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };

  try {
    const op = await withPort(options.opPort ?? DEMO_PORTS.op, 'the OpenID Provider', '--op-port', (opPort) =>
      startOpenIdProvider({
        port: opPort,
        clients: [
          {
            clientId: DEMO_CLIENT_ID,
            clientSecret,
            // The demo gateway's callback, and `tokengate dev --issuer <this provider>`'s (its
            // provider id is "dev"), so that `--without-gateway` pairs with `tokengate dev` too.
            redirectUris: [`${publicOrigin}/auth/callback/${DEMO_PROVIDER_ID}`, `${publicOrigin}/auth/callback/${DEV_PROVIDER_ID}`],
            postLogoutRedirectUris: [`${publicOrigin}/`],
            backchannelLogoutUri: `${publicOrigin}/auth/backchannel-logout/${DEMO_PROVIDER_ID}`,
          },
        ],
      }),
    );
    stops.push(() => op.close());
    const api = await withPort(options.apiPort ?? 0, 'the sample API', '--api-port', (apiPort) =>
      startSampleApi({ port: apiPort, introspect: (token) => op.introspect(token) }),
    );
    stops.push(() => api.close());
    const spa = await withPort(options.spaPort ?? 0, 'the SPA files', '--spa-port', (spaPort) => startSpaServer({ port: spaPort }));
    stops.push(() => spa.close());

    const stack: DemoStack = { url: `${publicOrigin}/`, port, op, api, spa, close };
    if (options.withoutGateway) return stack;

    const config = demoConfig({ port, issuer: op.issuer, clientSecret, apiUrl: api.url, spaUrl: spa.url, logging: options.logging });
    const gateway = createGateway(config, options.logger ? { logger: options.logger } : {});
    stops.push(() => gateway.close());
    await gateway.start();
    const listening = await withPort(port, 'the gateway', '--port', (gatewayPort) => gateway.listen({ port: gatewayPort }));
    return { ...stack, gateway, listening, config };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The demo gateway's configuration: memory store, ephemeral keys, /api and / routes. */
export function demoConfig(parts: {
  port: number;
  issuer: string;
  clientSecret: string;
  apiUrl: string;
  spaUrl: string;
  logging?: Config['logging'] | undefined;
}): Config {
  return loadConfig({
    env: {},
    object: {
      publicOrigin: `http://localhost:${parts.port}`,
      listen: { host: '127.0.0.1', port: parts.port },
      keys: { encryption: [{ kid: 'demo', key: generateKey() }], cookie: [generateKey()] },
      store: { type: 'memory' },
      providers: [
        {
          id: DEMO_PROVIDER_ID,
          type: 'oidc',
          name: 'Demo OpenID Provider',
          issuer: parts.issuer,
          clientId: DEMO_CLIENT_ID,
          clientSecret: parts.clientSecret,
          scopes: ['openid', 'profile', 'email', 'offline_access'],
        },
      ],
      routes: [
        { prefix: '/api', upstream: parts.apiUrl, auth: 'required', stripPrefix: true },
        // The SPA's files: loaded by navigations and by <script>/<link> tags, which cannot send the
        // CSRF header; public, so no bearer rides on them.
        { prefix: '/', upstream: parts.spaUrl, auth: 'public', websocket: false, csrf: 'unsafe', page: true },
      ],
      logging: parts.logging ?? { level: 'info', pretty: true },
    },
  });
}

/** Runs `start` on `port`, turning "address in use" into a message that names the flag. */
async function withPort<T>(port: number, what: string, flag: string, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new DemoPortError(what, port, flag);
    throw err;
  }
}

/**
 * The gateway's port is part of its public origin and of the provider's redirect URI, so it must
 * be known before anything starts: 0 becomes a port that is free right now.
 */
async function concretePort(port: number, what: string, flag: string): Promise<number> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new DemoPortError(what, port, flag);
    throw err;
  }
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

const USAGE = `Usage: scripts/demo [--port 8080] [--op-port 9000]

Starts, on 127.0.0.1: a local OpenID Provider with the user demo/demo, a sample API, the
sample SPA's files, and Tokengate (memory store, ephemeral keys) in front of them.
Ctrl-C stops everything.

Options:
  --port N            gateway port (default 8080)
  --op-port N         OpenID Provider port (default 9000)
  --without-gateway   start only the provider, the sample API (--api-port, default 3000) and
                      the SPA files (--spa-port, default 3001), for deploy/compose.yaml or
                      \`tokengate dev\`; the client secret comes from
                      TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET
  -h, --help          show this help`;

function portArg(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} must be a port number (0-65535), got ${JSON.stringify(value)}`);
  return port;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'op-port': { type: 'string' },
        'api-port': { type: 'string' },
        'spa-port': { type: 'string' },
        'without-gateway': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const withoutGateway = values['without-gateway'] === true;
  const clientSecret = process.env['TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET'];
  if (withoutGateway && !clientSecret) {
    process.stderr.write('demo: --without-gateway needs TOKENGATE_PROVIDER_DEMO_CLIENT_SECRET (the gateway container uses the same value)\n');
    return 2;
  }

  let stack: DemoStack;
  try {
    stack = await startDemo({
      port: portArg(values.port, DEMO_PORTS.gateway, '--port'),
      opPort: portArg(values['op-port'], DEMO_PORTS.op, '--op-port'),
      apiPort: portArg(values['api-port'], withoutGateway ? DEMO_PORTS.api : 0, '--api-port'),
      spaPort: portArg(values['spa-port'], withoutGateway ? DEMO_PORTS.spa : 0, '--spa-port'),
      withoutGateway,
      ...(clientSecret ? { clientSecret } : {}),
    });
  } catch (err) {
    process.stderr.write(`demo: ${err instanceof DemoPortError ? err.message : (err as Error).stack}\n`);
    return 1;
  }
  process.stdout.write(banner(stack, withoutGateway));

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('\nStopping the demo…\n');
  await stack.close();
  return 0;
}

function banner(stack: DemoStack, withoutGateway: boolean): string {
  const lines = [
    '',
    withoutGateway ? 'Tokengate demo parts are running (the gateway runs elsewhere).' : 'Tokengate demo is running.',
    '',
    `  Open    ${stack.url}`,
    '  Then    press "Log in", sign in as  demo  with password  demo,',
    '          press "Call API": the sample API shows the user it received.',
    '',
    withoutGateway ? `  Gateway          ${stack.url} (expected)` : `  Gateway          ${stack.url}  (memory store, ephemeral keys)`,
    `  OpenID Provider  ${stack.op.issuer}`,
    `  Sample API       ${stack.api.url}  (through the gateway at /api)`,
    `  SPA files        ${stack.spa.url}  (through the gateway at /)`,
    ...(withoutGateway
      ? [
          '',
          '  Or run the gateway yourself from this checkout (Node 24: source scripts/env.sh), with the',
          '  same client secret:',
          `    TOKENGATE_PROVIDER_DEV_CLIENT_SECRET=... node src/cli.ts dev --upstream ${stack.api.url} --issuer ${stack.op.issuer} --client-id ${DEMO_CLIENT_ID} --port ${stack.port}`,
          `    then open ${stack.url}auth/login?returnTo=/hello`,
        ]
      : []),
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
