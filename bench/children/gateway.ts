import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createGateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { serveChild } from './protocol.ts';

/**
 * A Tokengate gateway under test, built exactly as in production from a validated config.
 * With `allocationProfile`, V8's sampling heap profiler records where memory is allocated
 * (including what the GC has already collected) and the profile is written there on stop.
 */
serveChild(async (init) => {
  const { config: input, allocationProfile } = init as { config: ConfigInput; allocationProfile?: string };
  // The bench passes the whole configuration; this process's environment must not override it.
  const config = loadConfig({ object: input, env: {} });
  const sampler = allocationProfile === undefined ? undefined : await startAllocationSampling();
  const gateway = createGateway(config);
  await gateway.start();
  const listening = await gateway.listen();
  return {
    port: Number(new URL(listening.url).port),
    answer: (what) => (what === 'memory' ? process.memoryUsage() : undefined),
    close: async () => {
      if (sampler !== undefined) await writeFile(allocationProfile!, JSON.stringify(await sampler.stop()));
      await gateway.close();
    },
  };
});

async function startAllocationSampling(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 32 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  return {
    async stop() {
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: unknown };
      session.disconnect();
      return profile;
    },
  };
}
