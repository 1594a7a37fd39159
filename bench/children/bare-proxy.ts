import { createBareProxy } from '../bare-proxy.ts';
import { closeServer, listenLoopback } from '../listen.ts';
import { serveChild } from './protocol.ts';

serveChild(async (init) => {
  const { target } = init as { target: string };
  const proxy = createBareProxy(target);
  const port = await listenLoopback(proxy.server);
  return {
    port,
    close: async () => {
      await closeServer(proxy.server);
      proxy.close();
    },
  };
});
