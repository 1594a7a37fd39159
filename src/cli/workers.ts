import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { memoryStoreWorkersProblem } from '../config/cross-field.ts';
import type { Config } from '../config/index.ts';
import { runPrimary } from '../runtime/cluster/primary.ts';
import { isStartupFailure } from '../runtime/listen.ts';
import type { KeyReloadSource } from '../runtime/key-reload.ts';
import { shutdownTrigger } from '../runtime/signals.ts';
import { ExitCode, type CommandIo } from './commands.ts';

/**
 * `--workers N` for `start` and `dev`. One worker is the gateway in this process; more use
 * node:cluster (src/runtime/cluster): this process becomes the primary and forks N workers that
 * re-run the same command line. The gateway itself (src/app.ts, src/runtime/serve.ts and
 * everything they build on) is imported only where it runs: a primary that loaded it would only
 * delay the workers it forks.
 *
 * The count: the flag, else `workers` from the config, else the default: the number of CPUs
 * (os.availableParallelism()) for `start` with the Redis store, 1 otherwise. The memory store
 * lives inside one process, so more than one worker with it is refused (exit 1).
 */

export const WORKERS_OPTION = { type: 'string' } as const;

/** The flag's value as a count, or a usage problem. */
export function parseWorkersFlag(value: string | undefined): number | undefined | { problem: string } {
  if (value === undefined) return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1) return { problem: '--workers must be a whole number of at least 1' };
  return Number(value);
}

export type WorkerCount = { workers: number } | { problem: string };

export function workerCount(config: Config, flag: number | undefined, defaultToCpus: boolean): WorkerCount {
  const fromCpus = defaultToCpus && config.store.type !== 'memory' ? availableParallelism() : 1;
  const workers = flag ?? config.workers ?? fromCpus;
  const problem = memoryStoreWorkersProblem(workers, config.store.type);
  return problem === undefined ? { workers } : { problem };
}

export interface ServeWithWorkersOptions {
  workers: number;
  logger: Logger;
  /** Key reloads on SIGHUP and secret-file changes (`start`). */
  reload?: KeyReloadSource;
  /** Extra environment for cluster workers. */
  workerEnv?: NodeJS.ProcessEnv;
  /** Once everything listens (in the primary, or in the single process). */
  onReady?: (ready: { main: string; ops: string }) => void;
}

/** After a shutdown, how long anything still running (a provider call past the grace period) may keep the process. */
const EXIT_AFTER_SHUTDOWN_MS = 1_000;

/**
 * Serves until a signal in the shape `workers` asks for (a cluster worker, a cluster primary or
 * the single process); resolves with the exit code. The gateway is built by createGateway
 * (src/app.ts), handed to the runtime as a factory. Once shut down, the process exits within a
 * second even if a call that outlived the grace period is still pending (an unreferenced timer:
 * it never keeps an otherwise finished process alive).
 */
export async function serveWithWorkers(config: Config, io: CommandIo, options: ServeWithWorkersOptions): Promise<number> {
  // Normally installed by src/cli.ts before anything loaded; here for callers of `main` itself.
  const trigger = io.shutdown ?? shutdownTrigger();
  const reload = options.reload ? { reload: options.reload } : {};
  let code: number = ExitCode.ok;
  try {
    if (options.workers > 1 && cluster.isPrimary) {
      code = await runPrimary({
        config,
        workers: options.workers,
        logger: options.logger,
        trigger,
        ...(options.workerEnv ? { env: options.workerEnv } : {}),
        ...(options.onReady ? { onReady: options.onReady } : {}),
      });
    } else {
      const { createGateway } = await import('../app.ts');
      const create = (built: Config) => createGateway(built, { logger: options.logger });
      if (options.workers > 1) {
        const { runWorker } = await import('../runtime/cluster/worker.ts');
        await runWorker(config, { create, workerId: cluster.worker?.id ?? 0, trigger, ...reload });
      } else {
        const { serve } = await import('../runtime/serve.ts');
        await serve(config, {
          create,
          trigger,
          ...reload,
          onListening: ({ urls }) => options.onReady?.({ main: urls.main ?? '', ops: urls.ops ?? '' }),
        });
      }
    }
  } catch (err) {
    if (!isStartupFailure(err)) throw err;
    io.err(`tokengate: ${err.message}`);
    code = ExitCode.runtime;
  } finally {
    if (io.shutdown === undefined) trigger.dispose();
  }
  setTimeout(() => process.exit(code), EXIT_AFTER_SHUTDOWN_MS).unref();
  return code;
}
