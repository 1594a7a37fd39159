import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { BadRequestError, GatewayError, TokenServiceUnavailableError } from '../errors.ts';
import { discoveryFailureText, discoveryProblemOf } from '../providers/discovery.ts';
import type { Provider } from '../providers/types.ts';
import type { GatewayCookies } from '../session/cookies.ts';
import type { Store } from '../store/types.ts';
import type { TokenService } from '../tokens/token-service.ts';
import type { Revoker } from './revoker.ts';

/** What the /auth routes are built from; assembled once by the composition root. */
export interface AuthDeps {
  config: Config;
  store: Store;
  providers: ReadonlyMap<string, Provider>;
  keyring: Keyring;
  cookies: GatewayCookies;
  revoker: Revoker;
  logger: Logger;
  now: () => number;
  /** Writes a linked provider's tokens (`/auth/link`); without it linking answers 400. */
  tokens?: Pick<TokenService, 'linkProvider'>;
}

const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The provider named by a request, or 400 BAD_REQUEST. Never echoes the unknown id. */
export function providerById(deps: Pick<AuthDeps, 'providers'>, id: string | undefined): Provider {
  if (id === undefined && deps.providers.size === 1) return [...deps.providers.values()][0]!;
  if (id === undefined) throw new BadRequestError('Choose a provider');
  const provider = PROVIDER_ID.test(id) ? deps.providers.get(id) : undefined;
  if (!provider) throw new BadRequestError('Unknown provider');
  return provider;
}

/**
 * Discovery that failed at startup is tried again on first use; failing, the answer is 503 with
 * the class of the cause in safe words (no URL, no detail: those go to the log and /readyz).
 */
export async function readyProvider(provider: Provider): Promise<Provider> {
  if (provider.ready) return provider;
  try {
    await provider.init();
    return provider;
  } catch (err) {
    if (err instanceof GatewayError && err.expose) throw err;
    const problem = discoveryProblemOf(err);
    const message = problem === undefined ? undefined : `Login is unavailable: ${discoveryFailureText(problem)}; try again later`;
    throw new TokenServiceUnavailableError(message, { cause: err });
  }
}

export function callbackUrl(publicOrigin: string, providerId: string): string {
  return `${publicOrigin}/auth/callback/${providerId}`;
}
