/** The environment variable that may hold a provider's client secret (see load.ts): ID upper-cased, `-` as `_`. */
export function providerSecretVariable(providerId: string): string {
  return `TOKENGATE_PROVIDER_${providerId.toUpperCase().replace(/-/g, '_')}_CLIENT_SECRET`;
}
