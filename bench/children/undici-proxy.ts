import { closeServer, listenLoopback } from '../listen.ts';
import { createUndiciProxy } from '../undici-proxy.ts';
import { serveChild } from './protocol.ts';

serveChild(async (init) => {
  const { target } = init as { target: string };
  const proxy = createUndiciProxy(target);
  const port = await listenLoopback(proxy.server);
  return {
    port,
    close: async () => {
      await closeServer(proxy.server);
      await proxy.close();
    },
  };
});
