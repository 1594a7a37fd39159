import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import type { Clock } from '../../clock.ts';
import { bindListener, closeServer } from '../listen.ts';
import { shutdownTrigger, signalExitCode, type ShutdownSignal, type ShutdownTrigger } from '../signals.ts';
import { nodeCluster, type Cluster } from './cluster.ts';
import { createClusterOpsApp, createPrimaryMetrics, WorkerQuestions } from './cluster-ops.ts';
import type { RestartPolicyOptions } from './restart-policy.ts';
import { Supervisor } from './supervisor.ts';

/**
 * The cluster primary of `start --workers N` (N > 1). It serves no traffic itself:
 *
 * 1. listens on the ops port (see cluster-ops.ts: metrics summed over the workers, readiness of
 *    all of them);
 * 2. forks N workers, which re-run the same command line as workers and share the main (and
 *    forward-auth) port through node:cluster;
 * 3. once all N listen, logs 'Tokengate listening'. A worker that exits before it listens at
 *    startup (store unreachable, port taken) stops the others; the primary exits with its code;
 * 4. restarts a worker that dies unexpectedly later, with backoff (RestartPolicy); one that
 *    keeps dying makes the primary stop everything and exit 3;
 * 5. on SIGTERM/SIGINT: readiness turns not-ready, every worker is told to shut down (over IPC;
 *    a process-group signal also reaches the workers directly, and they do not take that copy
 *    for a second signal), and the primary waits for them (the grace period plus 5 s, then
 *    SIGKILL), closes the ops listener and exits 0. A second signal to the primary SIGKILLs the
 *    workers and the primary exits at once.
 *
 * Steps 2 to 5's worker slots are supervisor.ts, over a small Cluster interface (cluster.ts);
 * this file adds the ops listener, the signals and the log lines around them.
 */

export interface PrimaryOptions {
  config: Config;
  workers: number;
  logger: Logger;
  /** Extra environment for the workers (dev's generated keys). */
  env?: NodeJS.ProcessEnv;
  restart?: RestartPolicyOptions;
  /** Called once every worker listens. */
  onReady?: (ready: { main: string; ops: string }) => void;
  /** The process's signal handling when the caller installed it already (src/cli.ts). */
  trigger?: ShutdownTrigger;
  /** Default: node:cluster. */
  cluster?: Cluster;
  clock?: Clock;
}

const ASK_TIMEOUT_MS = 2_500;

/** Runs the primary until shutdown; resolves with the exit code. Throws StartupError when the ops port cannot be bound. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, logger } = options;
  const questions = new WorkerQuestions(ASK_TIMEOUT_MS);
  let opsUrl = '';
  const supervisor: Supervisor = new Supervisor({
    cluster: options.cluster ?? nodeCluster(),
    workers: options.workers,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.restart ? { restart: options.restart } : {}),
    ...(options.env ? { env: options.env } : {}),
    onAnswer: (message) => questions.answered(message),
    onRestart: () => metrics.restarts.inc(),
    onReady: (message) => {
      logger.info(
        { event: 'listening', main: message.main, ops: opsUrl, ...(message.forwardAuth ? { forwardAuth: message.forwardAuth } : {}), publicOrigin: config.publicOrigin, store: config.store.type, workers: options.workers },
        'Tokengate listening',
      );
      options.onReady?.({ main: message.main, ops: opsUrl });
    },
  });
  const listening = () => supervisor.listening();
  const metrics = createPrimaryMetrics(() => listening().length);
  const opsApp = createClusterOpsApp({ questions, metrics, listening, expectedWorkers: options.workers, draining: () => supervisor.draining });
  const ops = await bindListener({ name: 'ops', handler: opsApp.callback(), at: config.ops, setting: 'ops.port' });
  opsUrl = ops.url;

  const force = (signal: ShutdownSignal) => {
    logger.warn({ event: 'shutdown_forced', signal }, 'second signal during shutdown: exiting now');
    // Workers take signals during their drain for the process group's copies, not for "now".
    supervisor.kill();
    process.exit(signalExitCode(signal));
  };
  // SIGHUP: every listening worker reloads its keys (and the primary, which holds none, stays up).
  const onHangup = () => {
    const workers = supervisor.reload();
    logger.info({ event: 'keys_reload_requested', workers }, 'SIGHUP: workers reload their keys');
  };
  process.on('SIGHUP', onHangup);
  const trigger = options.trigger ?? shutdownTrigger();
  trigger.onForce(force);
  void trigger.started.then((signal) => supervisor.stop({ kind: 'signal', signal }));
  try {
    supervisor.start();
    const reason = await supervisor.stopped;
    logger.info({ event: 'shutdown_started', reason: reason.kind === 'signal' ? reason.signal : reason.kind, workers: supervisor.alive, graceMs: config.shutdown.grace }, 'shutting down');
    await supervisor.shutDown(config.shutdown.grace);
    logger.info({ event: 'shutdown_finished', main: supervisor.mainUrl }, 'shut down');
    if (reason.kind === 'signal') return 0;
    return reason.kind === 'startup-failed' ? reason.code : 3;
  } finally {
    supervisor.dispose();
    process.off('SIGHUP', onHangup);
    trigger.dispose();
    await closeServer(ops.server);
  }
}
