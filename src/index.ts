/**
 * Tokengate as a library: `import { createGateway, loadConfig } from 'tokengate'`.
 *
 *   const config = loadConfig({ file: 'gateway.yaml' });   // validated once, frozen
 *   const gateway = createGateway(config);
 *   await gateway.start();                                  // provider discovery
 *   const server = http.createServer(gateway.callback());
 *   server.on('upgrade', gateway.upgrade);                  // WebSockets on proxied routes
 *   gateway.attach(server);                                 // under gateway.close()'s drain
 *
 * Nothing runs at import time. The command line (`tokengate start`) is this plus listeners,
 * signals and workers.
 */

export { createGateway, type Gateway, type GatewayDeps, type ListeningGateway } from './app.ts';
export { loadConfig, type LoadOptions } from './config/load.ts';
export { configSchema, type Config, type ConfigInput, type ProviderConfig, type RedisConfig, type RouteConfig } from './config/schema.ts';
export { configJsonSchema } from './config/json-schema.ts';
export { generateKey } from './crypto/keyring.ts';
export {
  BadRequestError,
  ConfigError,
  CsrfRejectedError,
  DecryptionFailedError,
  GatewayError,
  NoSessionError,
  NotFoundError,
  PayloadTooLargeError,
  ProviderError,
  ReauthenticationRequiredError,
  RefreshTokenReuseError,
  SessionExpiredError,
  StoreUnavailableError,
  TokenServiceUnavailableError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  type ConfigIssue,
  type ErrorCode,
  type GatewayErrorOptions,
} from './errors.ts';
export { createStore, MemoryStore, RedisStore, type CreateStoreOptions, type Store } from './store/index.ts';
