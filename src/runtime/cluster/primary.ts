import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { Deadline } from '../deadline.ts';
import { cannotListen, closeServer, listenHttp } from '../listen.ts';
import { shutdownTrigger, signalExitCode, type ShutdownSignal, type ShutdownTrigger } from '../signals.ts';
import { createClusterOpsApp, createPrimaryMetrics, WorkerQuestions } from './cluster-ops.ts';
import { watchHandoffs, type Handoffs } from './handoffs.ts';
import { isClusterMessage, type ClusterMessage } from './messages.ts';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.ts';

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
}

/** Extra time the primary gives workers past their own grace period to close the store and exit. */
const EXIT_MARGIN_MS = 5_000;
const ASK_TIMEOUT_MS = 2_500;

type Stop = { kind: 'signal'; signal: string } | { kind: 'startup-failed'; code: number } | { kind: 'gave-up' };

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  handoffs: Handoffs | undefined;
  listening: boolean;
  restartTimer: NodeJS.Timeout | undefined;
}

/** Runs the primary until shutdown; resolves with the exit code. Throws StartupError when the ops port cannot be bound. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, logger } = options;
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({ index: index + 1, worker: undefined, handoffs: undefined, listening: false, restartTimer: undefined }));
  const policy = new RestartPolicy(options.restart);
  const questions = new WorkerQuestions(ASK_TIMEOUT_MS);
  const listeningWorkers = () => slots.filter((slot) => slot.listening && slot.worker !== undefined).map((slot) => slot.worker!);
  const metrics = createPrimaryMetrics(() => listeningWorkers().length);
  let draining = false;
  let ready = false;
  let mainUrl = '';
  let exitWaiters: Array<() => void> = [];
  let stop: (reason: Stop) => void = () => undefined;
  const stopped = new Promise<Stop>((resolve) => {
    stop = resolve;
  });

  const ops = await listenHttp(
    createClusterOpsApp({ questions, metrics, listening: listeningWorkers, expectedWorkers: options.workers, draining: () => draining }).callback(),
    config.ops,
  ).catch((err: NodeJS.ErrnoException) => {
    throw cannotListen('ops', config.ops, 'ops.port', err);
  });

  const fork = (slot: Slot) => {
    slot.restartTimer = undefined;
    slot.listening = false;
    slot.worker = cluster.fork(options.env);
    slot.handoffs = watchHandoffs(slot.worker);
  };
  const slotOf = (worker: Worker) => slots.find((slot) => slot.worker === worker);
  const live = () => slots.filter((slot) => slot.worker !== undefined);

  const onMessage = (worker: Worker, message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.tokengate === 'answer') questions.answered(message);
    if (message.tokengate !== 'listening') return;
    const slot = slotOf(worker);
    if (slot === undefined) return;
    slot.listening = true;
    mainUrl = message.main;
    if (!ready && slots.every((candidate) => candidate.listening)) {
      ready = true;
      logger.info(
        { main: message.main, ops: ops.url, ...(message.forwardAuth ? { forwardAuth: message.forwardAuth } : {}), publicOrigin: config.publicOrigin, store: config.store.type, workers: options.workers },
        'Tokengate listening',
      );
      options.onReady?.({ main: message.main, ops: ops.url });
    } else if (ready) {
      logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker restarted and listening');
    }
  };

  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    const slot = slotOf(worker);
    if (slot === undefined) return;
    const wasListening = slot.listening;
    const orphans = slot.handoffs?.answerOrphans() ?? 0;
    if (orphans > 0) logger.warn({ worker: worker.id, connections: orphans }, 'answered 503 on connections handed to the worker as it died');
    slot.worker = undefined;
    slot.handoffs = undefined;
    slot.listening = false;
    if (draining) {
      if (live().length === 0) {
        const waiters = exitWaiters;
        exitWaiters = [];
        for (const resolve of waiters) resolve();
      }
      return;
    }
    if (!ready && !wasListening) {
      stop({ kind: 'startup-failed', code: code === null || code === 0 ? 3 : code });
      return;
    }
    // `exitCode`, not `code`: the log redaction censors a top-level `code` (an authorization code).
    logger.warn({ worker: worker.id, pid: worker.process.pid, exitCode: code, signal }, 'worker exited unexpectedly');
    const delay = policy.afterDeath(Date.now());
    if (delay === undefined) {
      logger.error({ workers: options.workers }, 'workers keep dying: giving up');
      stop({ kind: 'gave-up' });
      return;
    }
    metrics.restarts.inc();
    slot.restartTimer = setTimeout(() => fork(slot), delay);
  };

  const force = (signal: ShutdownSignal) => {
    logger.warn({ signal }, 'second signal during shutdown: exiting now');
    // Workers take signals during their drain for the process group's copies, not for "now".
    for (const slot of live()) slot.worker!.process.kill('SIGKILL');
    process.exit(signalExitCode(signal));
  };

  // SIGHUP: every listening worker reloads its keys (and the primary, which holds none, stays up).
  const onHangup = () => {
    const message: ClusterMessage = { tokengate: 'reload' };
    for (const worker of listeningWorkers()) if (worker.isConnected()) worker.send(message);
    logger.info({ event: 'keys_reload_requested', workers: listeningWorkers().length }, 'SIGHUP: workers reload their keys');
  };
  process.on('SIGHUP', onHangup);
  const trigger = options.trigger ?? shutdownTrigger();
  trigger.onForce(force);
  void trigger.started.then((signal) => stop({ kind: 'signal', signal }));
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  try {
    for (const slot of slots) fork(slot);
    const reason = await stopped;
    draining = true;
    logger.info({ reason: reason.kind === 'signal' ? reason.signal : reason.kind, workers: live().length, graceMs: config.shutdown.grace }, 'shutting down');
    for (const slot of slots) clearTimeout(slot.restartTimer);
    await stopWorkers(live(), new Deadline(config.shutdown.grace + EXIT_MARGIN_MS), () =>
      live().length === 0 ? Promise.resolve() : new Promise<void>((resolve) => exitWaiters.push(resolve)),
    );
    logger.info({ main: mainUrl || undefined }, 'shut down');
    if (reason.kind === 'signal') return 0;
    return reason.kind === 'startup-failed' ? reason.code : 3;
  } finally {
    cluster.off('message', onMessage);
    cluster.off('exit', onExit);
    process.off('SIGHUP', onHangup);
    trigger.dispose();
    await closeServer(ops.server);
  }
}

/**
 * Asks every listening worker to shut down; one still starting may not listen for messages yet,
 * so it gets SIGTERM (it serves nothing yet either way). Past the deadline, kills what is left.
 */
async function stopWorkers(slots: Slot[], deadline: Deadline, allExited: () => Promise<void>): Promise<void> {
  const workers = slots.map((slot) => slot.worker!);
  for (const slot of slots) {
    const worker = slot.worker!;
    const message: ClusterMessage = { tokengate: 'shutdown' };
    if (slot.listening && worker.isConnected()) worker.send(message, (err: Error | null) => err && worker.process.kill('SIGTERM'));
    else worker.process.kill('SIGTERM');
  }
  if (await deadline.wait(allExited())) return;
  for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
  await new Deadline(2_000).wait(allExited());
}
