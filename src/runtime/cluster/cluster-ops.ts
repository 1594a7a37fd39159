import type Koa from 'koa';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { createOpsApp, DRAINING, type ReadinessReport } from '../../observability/index.ts';
import type { ClusterWorker } from './cluster.ts';
import type { AnswerMessage, OpsQuestion, WorkerMetrics } from './messages.ts';

/**
 * The ops listener of a cluster primary. Workers do not listen on the ops port (node:cluster
 * would hand each scrape to a different worker); the primary serves it and asks every
 * listening worker over IPC:
 *
 * - `/metrics`: each worker's registry (as prom-client JSON) plus the primary's own, summed
 *   with prom-client's AggregatorRegistry.aggregate: counters and histograms add up across
 *   workers, so the series are those of one process with all the workers' traffic. A worker
 *   that does not answer within the timeout is left out of that scrape.
 * - `/readyz`: ready when the primary is not draining, every worker slot has a listening
 *   worker, and every worker reports ready; `failing` is the union of their failing checks,
 *   plus `workers` when a worker is missing or silent.
 * - `/healthz`: the primary is alive.
 */

/** Asks workers questions over IPC and matches the answers by id. */
export class WorkerQuestions {
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, (answer: AnswerMessage | undefined) => void>();
  #nextId = 1;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** The worker's answer, or undefined when it is gone or silent past the timeout. */
  ask(worker: Pick<ClusterWorker, 'isConnected' | 'send'>, what: OpsQuestion): Promise<AnswerMessage | undefined> {
    if (!worker.isConnected()) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), this.#timeoutMs);
      const settle = (answer: AnswerMessage | undefined) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(answer);
      };
      this.#pending.set(id, settle);
      worker.send({ tokengate: 'ask', id, what }, (err) => {
        if (err) settle(undefined);
      });
    });
  }

  /** Feed every `answer` message from the workers here. */
  answered(message: AnswerMessage): void {
    this.#pending.get(message.id)?.(message);
  }
}

export interface PrimaryMetrics {
  readonly registry: Registry;
  readonly restarts: Counter;
}

/** The primary's own series: its process metrics, live workers, restarts. */
export function createPrimaryMetrics(listeningWorkers: () => number, options: { defaultMetrics?: boolean } = {}): PrimaryMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'tokengate_workers',
    help: 'Cluster workers that are up and listening (reported by the primary).',
    registers,
    collect() {
      this.set(listeningWorkers());
    },
  });
  const restarts = new Counter({
    name: 'tokengate_worker_restarts_total',
    help: 'Workers the primary restarted after they died unexpectedly.',
    registers,
  });
  return { registry, restarts };
}

export interface ClusterOpsOptions {
  questions: WorkerQuestions;
  metrics: PrimaryMetrics;
  /** Workers that have reported listening. */
  listening: () => ClusterWorker[];
  expectedWorkers: number;
  draining: () => boolean;
}

export function createClusterOpsApp(options: ClusterOpsOptions): Koa {
  const { questions, metrics } = options;

  async function readiness(): Promise<ReadinessReport> {
    if (options.draining()) return { ready: false, failing: [DRAINING] };
    const workers = options.listening();
    const answers = await Promise.all(workers.map((worker) => questions.ask(worker, 'readiness')));
    const failing = new Set<string>();
    if (workers.length < options.expectedWorkers) failing.add('workers');
    for (const answer of answers) {
      if (answer?.readiness === undefined) failing.add('workers');
      else for (const name of answer.readiness.failing) failing.add(name);
    }
    // Shutdown began while the workers were asked: that is the one thing to report.
    if (options.draining()) return { ready: false, failing: [DRAINING] };
    return { ready: failing.size === 0, failing: [...failing] };
  }

  async function render(): Promise<{ contentType: string; body: string }> {
    const answers = await Promise.all(options.listening().map((worker) => questions.ask(worker, 'metrics')));
    const perProcess: WorkerMetrics[] = [await metrics.registry.getMetricsAsJSON()];
    for (const answer of answers) if (answer?.metrics !== undefined) perProcess.push(answer.metrics);
    const aggregated = AggregatorRegistry.aggregate(perProcess);
    return { contentType: aggregated.contentType, body: await aggregated.metrics() };
  }

  return createOpsApp({ metrics: { render }, readiness });
}
