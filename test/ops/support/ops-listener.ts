import type { Gateway } from '../../../src/app.ts';
import { closeServer, listenHttp } from '../../../src/runtime/listen.ts';

/** A gateway's ops app on 127.0.0.1:0, as the ops listener serves it. */
export async function serveOps(gateway: Gateway): Promise<{ url: string; close(): Promise<void> }> {
  const { url, server } = await listenHttp(gateway.ops.callback(), { host: '127.0.0.1', port: 0 });
  return { url, close: () => closeServer(server) };
}
