import type { ProviderConfig } from '../config/schema.ts';
import type { Provider } from './types.ts';
import type { ProviderDeps } from './deps.ts';
import { DiscordProvider } from './discord.ts';
import { GithubProvider } from './github.ts';
import { GoogleProvider } from './google.ts';
import { OidcProvider } from './oidc.ts';

export type { ProviderDeps } from './deps.ts';
export type { AuthorizationRequest, LogoutTokenClaims, Provider, ProviderType, RevocationOutcome, UserProfile } from './types.ts';
export { ProviderTokens } from './types.ts';
export { DiscordProvider, GithubProvider, GoogleProvider, OidcProvider };

/** One Provider per configured provider, by id. No I/O: OIDC discovery waits for `init()`. */
export function createProviders(configs: readonly ProviderConfig[], deps: ProviderDeps = {}): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const config of configs) providers.set(config.id, createProvider(config, deps));
  return providers;
}

export function createProvider(config: ProviderConfig, deps: ProviderDeps = {}): Provider {
  switch (config.type) {
    case 'oidc':
      return new OidcProvider(config, deps);
    case 'google':
      return new GoogleProvider(config, deps);
    case 'github':
      return new GithubProvider(config, deps);
    case 'discord':
      return new DiscordProvider(config, deps);
  }
}
