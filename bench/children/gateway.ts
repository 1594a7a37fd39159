import { createGateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { serveChild } from './protocol.ts';

/** A Tokengate gateway under test, built exactly as in production from a validated config. */
serveChild(async (init) => {
  const { config: input } = init as { config: ConfigInput };
  // The bench passes the whole configuration; this process's environment must not override it.
  const config = loadConfig({ object: input, env: {} });
  const gateway = createGateway(config);
  await gateway.start();
  const listening = await gateway.listen();
  return {
    port: Number(new URL(listening.url).port),
    answer: (what) => (what === 'memory' ? process.memoryUsage() : undefined),
    close: () => gateway.close(),
  };
});
