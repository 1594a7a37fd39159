import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { ReadinessReport } from '../../observability/index.ts';

/**
 * What a cluster primary and its workers say to each other over the IPC channel. Every message
 * carries `tokengate` (its kind), so messages of other libraries pass by.
 *
 * - worker → primary `listening`: the worker's listeners are up.
 * - primary → worker `ask`: send your `metrics` (prom-client JSON) or your `readiness`.
 * - worker → primary `answer`: the answer to ask `id`.
 * - primary → worker `shutdown`: drain and exit, as on SIGTERM.
 * - primary → worker `reload`: reload the keys, as on SIGHUP (the primary got one).
 */

export type OpsQuestion = 'metrics' | 'readiness';
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

export interface ListeningMessage {
  tokengate: 'listening';
  main: string;
  forwardAuth?: string;
}

export interface AskMessage {
  tokengate: 'ask';
  id: number;
  what: OpsQuestion;
}

export interface AnswerMessage {
  tokengate: 'answer';
  id: number;
  metrics?: WorkerMetrics;
  readiness?: ReadinessReport;
}

export interface ShutdownMessage {
  tokengate: 'shutdown';
}

export interface ReloadMessage {
  tokengate: 'reload';
}

export type ClusterMessage = ListeningMessage | AskMessage | AnswerMessage | ShutdownMessage | ReloadMessage;

const KINDS = new Set(['listening', 'ask', 'answer', 'shutdown', 'reload']);

export function isClusterMessage(value: unknown): value is ClusterMessage {
  return typeof value === 'object' && value !== null && KINDS.has((value as { tokengate?: unknown }).tokengate as string);
}
