export { loadConfig, type LoadOptions } from './load.ts';
export { configSchema, isLoopbackHost, type Config, type ConfigInput, type ProviderConfig, type RouteConfig, type RedisConfig } from './schema.ts';
export { parseDuration } from './duration.ts';
export { providerSecretVariable } from './env-variables.ts';
