import type { Logger } from 'pino';
import { InFlight } from '../../in-flight.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { Deadline } from '../deadline.ts';
import type { Cluster, ClusterWorker } from './cluster.ts';
import { isClusterMessage, type AnswerMessage, type ClusterMessage, type ListeningMessage } from './messages.ts';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.ts';

/**
 * The worker slots of a cluster primary (primary.ts), driven by a Cluster (the real
 * node:cluster, or a unit test's fake) and a Clock:
 *
 * - `start()` forks one worker per slot; once every slot's worker reports listening,
 *   `onReady` is called (once);
 * - a worker that exits before it listens at startup stops everything (`stopped`:
 *   `startup-failed` with its exit code, 3 when it had none);
 * - a worker that dies later is restarted in its slot after the RestartPolicy's delay; one
 *   that keeps dying stops everything (`gave-up`);
 * - `shutDown()` asks every worker to shut down (over IPC; SIGTERM to one that is not listening
 *   yet), SIGKILLs what is left past the grace period plus EXIT_MARGIN_MS, and resolves once
 *   every worker has exited.
 */

export type Stop = { kind: 'signal'; signal: string } | { kind: 'startup-failed'; code: number } | { kind: 'gave-up' };

export interface SupervisorOptions {
  cluster: Cluster;
  workers: number;
  logger: Logger;
  clock?: Clock;
  restart?: RestartPolicyOptions;
  /** Extra environment for the workers. */
  env?: NodeJS.ProcessEnv;
  /** Once every slot's worker listens, the first time: the last `listening` message. */
  onReady?: (message: ListeningMessage) => void;
  /** A worker that died was restarted (tokengate_worker_restarts_total). */
  onRestart?: () => void;
  /** Every `answer` message from a worker (cluster-ops.ts's WorkerQuestions). */
  onAnswer?: (message: AnswerMessage) => void;
}

/** Extra time the primary gives workers past their own grace period to close the store and exit. */
export const EXIT_MARGIN_MS = 5_000;
/** After SIGKILL, how long the primary waits for the exits. */
const KILL_WAIT_MS = 2_000;

interface Slot {
  worker: ClusterWorker | undefined;
  listening: boolean;
  cancelRestart: (() => void) | undefined;
}

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #clock: Clock;
  readonly #slots: Slot[];
  readonly #policy: RestartPolicy;
  readonly #alive = new InFlight<ClusterWorker>();
  #ready = false;
  #draining = false;
  #unwatch: (() => void) | undefined;
  #stop: (reason: Stop) => void = () => undefined;
  /** Resolves with what ended the supervision; the first reason wins. */
  readonly stopped: Promise<Stop>;
  /** The main listener's URL as the workers last reported it. */
  mainUrl: string | undefined;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#policy = new RestartPolicy(options.restart);
    this.#slots = Array.from({ length: options.workers }, () => ({ worker: undefined, listening: false, cancelRestart: undefined }));
    this.stopped = new Promise((resolve) => {
      this.#stop = resolve;
    });
  }

  start(): void {
    this.#unwatch ??= this.#options.cluster.watch({ message: (worker, message) => this.#onMessage(worker, message), exit: (worker, code, signal) => this.#onExit(worker, code, signal) });
    for (const slot of this.#slots) this.#fork(slot);
  }

  /** Workers that have reported listening. */
  listening(): ClusterWorker[] {
    return this.#slots.filter((slot) => slot.listening && slot.worker !== undefined).map((slot) => slot.worker!);
  }

  /** Workers not yet exited. */
  get alive(): number {
    return this.#alive.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  stop(reason: Stop): void {
    this.#stop(reason);
  }

  /** Asks every listening worker to reload its keys; returns how many were asked. */
  reload(): number {
    const workers = this.listening().filter((worker) => worker.isConnected());
    const message: ClusterMessage = { tokengate: 'reload' };
    for (const worker of workers) worker.send(message);
    return workers.length;
  }

  /** SIGKILLs every worker still alive (a second signal to the primary). */
  kill(): void {
    for (const worker of this.#alive) worker.kill('SIGKILL');
  }

  /**
   * No more restarts; every worker is asked to shut down (one still starting may not listen for
   * messages yet, so it gets SIGTERM: it serves nothing yet either way). Past the deadline,
   * kills what is left. Resolves once every worker has exited (or the kill wait is over).
   */
  async shutDown(graceMs: number): Promise<void> {
    this.#draining = true;
    for (const slot of this.#slots) {
      slot.cancelRestart?.();
      slot.cancelRestart = undefined;
      const worker = slot.worker;
      if (worker === undefined) continue;
      const message: ClusterMessage = { tokengate: 'shutdown' };
      if (slot.listening && worker.isConnected()) worker.send(message, (err) => err && worker.kill('SIGTERM'));
      else worker.kill('SIGTERM');
    }
    if (await new Deadline(graceMs + EXIT_MARGIN_MS, this.#clock).wait(this.#alive.idle())) return;
    for (const worker of this.#alive) if (!worker.isDead()) worker.kill('SIGKILL');
    await new Deadline(KILL_WAIT_MS, this.#clock).wait(this.#alive.idle());
  }

  /** Stops following the cluster's events. */
  dispose(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #fork(slot: Slot): void {
    slot.cancelRestart = undefined;
    slot.listening = false;
    slot.worker = this.#options.cluster.fork(this.#options.env);
    this.#alive.add(slot.worker);
  }

  #slotOf(worker: ClusterWorker): Slot | undefined {
    return this.#slots.find((slot) => slot.worker === worker);
  }

  #onMessage(worker: ClusterWorker, message: unknown): void {
    if (!isClusterMessage(message)) return;
    if (message.tokengate === 'answer') this.#options.onAnswer?.(message);
    if (message.tokengate !== 'listening') return;
    const slot = this.#slotOf(worker);
    if (slot === undefined) return;
    slot.listening = true;
    this.mainUrl = message.main;
    if (!this.#ready && this.#slots.every((candidate) => candidate.listening)) {
      this.#ready = true;
      this.#options.onReady?.(message);
    } else if (this.#ready) {
      this.#options.logger.info({ event: 'worker_restarted', worker: worker.id, pid: worker.pid }, 'worker restarted and listening');
    }
  }

  #onExit(worker: ClusterWorker, code: number | null, signal: string | null): void {
    this.#alive.delete(worker);
    const slot = this.#slotOf(worker);
    if (slot === undefined) return;
    const { logger } = this.#options;
    const wasListening = slot.listening;
    const orphans = worker.answerOrphans();
    if (orphans > 0) logger.warn({ event: 'worker_orphans_answered', worker: worker.id, connections: orphans }, 'answered 503 on connections handed to the worker as it died');
    slot.worker = undefined;
    slot.listening = false;
    if (this.#draining) return;
    if (!this.#ready && !wasListening) {
      this.#stop({ kind: 'startup-failed', code: code === null || code === 0 ? 3 : code });
      return;
    }
    // `exitCode`, not `code`: the log redaction censors a top-level `code` (an authorization code).
    logger.warn({ event: 'worker_exited', worker: worker.id, pid: worker.pid, exitCode: code, signal }, 'worker exited unexpectedly');
    const delay = this.#policy.afterDeath(this.#clock.now());
    if (delay === undefined) {
      logger.error({ event: 'workers_gave_up', workers: this.#options.workers }, 'workers keep dying: giving up');
      this.#stop({ kind: 'gave-up' });
      return;
    }
    this.#options.onRestart?.();
    slot.cancelRestart = this.#clock.after(delay, () => this.#fork(slot));
  }
}
