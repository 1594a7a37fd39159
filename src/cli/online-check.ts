import type { Config, ProviderConfig } from '../config/index.ts';
import { GatewayError, ProviderError } from '../errors.ts';
import { describeFailure } from '../observability/readiness.ts';
import { expectJsonObject } from '../providers/answers.ts';
import { discover, discoveryUrl } from '../providers/discovery.ts';
import { GOOGLE_ENDPOINTS } from '../providers/google.ts';
import { pushEndpointFor } from '../providers/pushed-authorization.ts';
import { ProviderHttp } from '../providers/http.ts';
import { createStore } from '../store/index.ts';
import { storeTarget } from '../config/store-target.ts';

/**
 * `check-config --online`: contacts what the configuration names, the way `start` would, and
 * says for each by name whether it answered and, if not, why. OIDC providers: discovery (with
 * the issuer check), the JWKS it names and whether logins can push their requests (`par`); Google: its JWKS; GitHub and Discord have nothing
 * to fetch without a user. The store: one PING. Messages carry URLs without credentials and
 * error codes, never a secret.
 */

export interface OnlineCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export async function checkOnline(config: Config): Promise<OnlineCheck[]> {
  const providers = config.providers.map((provider) => checkProvider(provider));
  const store = checkStore(config);
  return [...(await Promise.all(providers)), await store];
}

async function checkProvider(config: ProviderConfig): Promise<OnlineCheck> {
  const name = `provider ${config.id}`;
  const http = new ProviderHttp({ providerId: config.id, timeoutMs: config.timeout });
  try {
    switch (config.type) {
      case 'oidc': {
        const metadata = await discover(http, config.issuer, { allowInsecure: config.allowInsecure });
        const keys = await countKeys(http, metadata.jwksUri);
        // Logins would be refused (PAR_UNSUPPORTED) when a push is required and cannot be made.
        const pushTo = pushEndpointFor(config.id, config.par, metadata);
        const pushed = pushTo === undefined ? '' : `, pushed authorization requests ${pushTo}`;
        return { name, ok: true, detail: `discovery ${discoveryUrl(config.issuer)} (issuer matches), JWKS ${metadata.jwksUri} (${keys} key${keys === 1 ? '' : 's'})${pushed}` };
      }
      case 'google': {
        const keys = await countKeys(http, GOOGLE_ENDPOINTS.jwks);
        return { name, ok: true, detail: `JWKS ${GOOGLE_ENDPOINTS.jwks} (${keys} key${keys === 1 ? '' : 's'})` };
      }
      case 'github':
      case 'discord':
        return { name, ok: true, detail: `${config.type}: fixed endpoints, nothing to fetch before a login` };
    }
  } catch (err) {
    return { name, ok: false, detail: err instanceof GatewayError ? err.message : describeFailure(err) };
  }
}

/** The JWKS at `url` must be a JSON object with a non-empty `keys` array. */
async function countKeys(http: ProviderHttp, url: string): Promise<number> {
  const operation = `JWKS at ${url}`;
  const body = expectJsonObject(http.providerId, operation, await http.send(operation, { method: 'GET', url, headers: { accept: 'application/json' }, retry: 'network' }));
  const keys = body['keys'];
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ProviderError(http.providerId, `${http.providerId}: ${operation} has no keys`, { transient: false });
  }
  return keys.length;
}

async function checkStore(config: Config): Promise<OnlineCheck> {
  const name = `store ${storeTarget(config.store)}`;
  if (config.store.type === 'memory') return { name, ok: true, detail: 'in this process, nothing to contact' };
  let connectionError: Error | undefined;
  const store = createStore(config.store, { onConnectionError: (err) => (connectionError ??= err) });
  try {
    await store.ping();
    // A reply error while connecting to a selected database (a SELECT the server refuses) leaves the client on database 0.
    const db = config.store.redis.url === undefined ? '' : new URL(config.store.redis.url).pathname.slice(1);
    if (db !== '' && db !== '0' && connectionError?.name === 'ReplyError') return { name, ok: false, detail: `connection setup refused: ${connectionError.message}` };
    return { name, ok: true, detail: 'PING answered' };
  } catch (err) {
    return { name, ok: false, detail: connectionError?.message ?? describeFailure(err) };
  } finally {
    await store.close().catch(() => undefined);
  }
}
