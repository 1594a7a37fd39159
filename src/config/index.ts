export { loadConfig } from './load.ts';
export type { Config, ProviderConfig } from './schema.ts';
export { providerSecretVariable } from './env-variables.ts';
