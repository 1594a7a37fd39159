import type { ConfigInput } from '../src/config/schema.ts';
import { generateKey } from '../src/crypto/keyring.ts';

/**
 * The configuration of a gateway under test: one OIDC provider (the demo OpenID Provider), one
 * `/api` route to the bench upstream, loopback everything, fresh random keys per run. Gateways
 * that play replicas of one deployment share `keys` and `publicOrigin`.
 */
export const PROVIDER_ID = 'bench';
export const API_PATH = '/api/items';

export interface GatewayKeys {
  encryption: { kid: string; key: string }[];
  cookie: string[];
}

export function generateGatewayKeys(): GatewayKeys {
  return { encryption: [{ kid: 'bench', key: generateKey() }], cookie: [generateKey()] };
}

export interface GatewaySetup {
  port: number;
  publicOrigin: string;
  issuer: string;
  client: { clientId: string; clientSecret: string };
  upstream: string;
  /** Absent: the memory store. */
  redisUrl?: string;
  keys: GatewayKeys;
  logLevel: LogLevel;
  /** DPoP-bound sessions (provider option `dpop`): every proxied request signs a proof. */
  dpop?: boolean;
}

export type LogLevel = NonNullable<NonNullable<ConfigInput['logging']>['level']>;

export function gatewayConfig(setup: GatewaySetup): ConfigInput {
  return {
    publicOrigin: setup.publicOrigin,
    listen: { host: '127.0.0.1', port: setup.port },
    ops: { host: '127.0.0.1', port: 0 },
    keys: setup.keys,
    store: setup.redisUrl === undefined ? { type: 'memory' } : { type: 'redis', redis: { url: setup.redisUrl } },
    providers: [
      {
        id: PROVIDER_ID,
        type: 'oidc',
        issuer: setup.issuer,
        clientId: setup.client.clientId,
        clientSecret: setup.client.clientSecret,
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        ...(setup.dpop ? { dpop: true } : {}),
      },
    ],
    routes: [{ prefix: '/api', upstream: setup.upstream }],
    logging: { level: setup.logLevel, pretty: false },
  };
}

export function callbackUrl(publicOrigin: string): string {
  return `${publicOrigin}/auth/callback/${PROVIDER_ID}`;
}

export function loginUrl(gatewayUrl: string): string {
  return `${gatewayUrl}/auth/login?provider=${PROVIDER_ID}&returnTo=%2F`;
}
