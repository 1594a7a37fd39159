import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSchema, type Config, type ConfigInput } from '../../../src/config/schema.ts';
import { generateKey } from '../../../src/crypto/keyring.ts';

/** Fresh random keys for one test gateway. */
export function testKeys(): ConfigInput['keys'] {
  return { encryption: [{ kid: 't1', key: generateKey() }], cookie: [generateKey()] };
}

/** A validated Config, with random keys unless given. */
export function gatewayConfig(input: Omit<ConfigInput, 'keys'> & { keys?: ConfigInput['keys'] }): Config {
  return configSchema.parse({ keys: testKeys(), ...input });
}

/**
 * A server bound to 127.0.0.1:0 before the gateway exists, so that the gateway's public origin
 * (and the callback URL registered at the provider) can name the port.
 */
export async function reserveServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
