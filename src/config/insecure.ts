import type { Config } from './schema.ts';

/**
 * Where the config says `allowInsecure: true` (plain http outside loopback for a provider or a
 * route, RFC 9700 2.6), as config paths for the startup warning.
 */
export function insecureSettings(config: Config): string[] {
  const found: string[] = [];
  config.providers.forEach((provider, index) => {
    if ((provider.type === 'oidc' || provider.type === 'github') && provider.allowInsecure) found.push(`providers.${index} (${provider.id})`);
  });
  config.routes.forEach((route, index) => {
    if (route.allowInsecure === true) found.push(`routes.${index} (${route.prefix})`);
  });
  return found;
}
