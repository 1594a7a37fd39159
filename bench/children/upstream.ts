import { closeServer, listenLoopback } from '../listen.ts';
import { createUpstream } from '../upstream.ts';
import { serveChild } from './protocol.ts';

serveChild(async () => {
  const upstream = createUpstream();
  const port = await listenLoopback(upstream.server);
  return {
    port,
    answer: (what) => (what === 'counts' ? upstream.counts() : undefined),
    close: () => closeServer(upstream.server),
  };
});
