import type { ProviderConfig } from '../config/schema.ts';
import type { Provider } from './types.ts';
import type { ProviderDeps } from './deps.ts';
import { DiscordProvider } from './discord.ts';
import { GithubProvider } from './github.ts';
import { GoogleProvider } from './google.ts';
import { OidcProvider } from './oidc.ts';

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
