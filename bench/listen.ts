import { once } from 'node:events';
import { createServer, type Server as NetServer } from 'node:net';
import type { Server } from 'node:http';

/** Listens on 127.0.0.1 (port 0 by default) and resolves with the port. */
export async function listenLoopback(server: Server | NetServer, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

/**
 * `count` distinct ports that were free a moment ago (all probed at once, so none repeats).
 * Only for servers whose port must be known before they start (a gateway's publicOrigin and the
 * provider's redirect URIs name it).
 */
export async function freePorts(count: number): Promise<number[]> {
  const probes = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(probes.map((probe) => listenLoopback(probe)));
  await Promise.all(probes.map((probe) => new Promise<void>((resolve) => probe.close(() => resolve()))));
  return ports;
}

/**
 * A port that was free a moment ago. Only for servers whose port must be known before they
 * start (a gateway's publicOrigin and the provider's redirect URIs name it).
 */
export async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listenLoopback(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
