import type { Server } from 'node:http';

/** Listens on 127.0.0.1 (port 0 picks a free one) and resolves with the bound port. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('server is not listening on a TCP port'));
        return;
      }
      resolve(address.port);
    });
  });
}

/** Stops accepting connections, drops idle and active ones, and resolves once closed. */
export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}
