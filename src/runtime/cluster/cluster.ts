import cluster, { type Worker } from 'node:cluster';
import { watchHandoffs } from './handoffs.ts';
import type { ClusterMessage } from './messages.ts';

/**
 * What a cluster primary needs of node:cluster, small enough that a unit test drives the
 * primary's worker slots with a fake (test/runtime/support/fake-cluster.ts). `nodeCluster()` is
 * the real one.
 */

/** One worker process, as the primary sees it. */
export interface ClusterWorker {
  readonly id: number;
  readonly pid: number | undefined;
  isConnected(): boolean;
  isDead(): boolean;
  send(message: ClusterMessage, callback?: (err: Error | null) => void): void;
  kill(signal: NodeJS.Signals): void;
  /** Once it exited: answers the connections handed to it that it never took (handoffs.ts); how many. */
  answerOrphans(): number;
}

export interface ClusterEvents {
  message(worker: ClusterWorker, message: unknown): void;
  exit(worker: ClusterWorker, code: number | null, signal: string | null): void;
}

export interface Cluster {
  /** A new worker re-running this process's command line, with `env` added. */
  fork(env?: NodeJS.ProcessEnv): ClusterWorker;
  /** Follows the messages and exits of the workers forked here; returns the function that stops it. */
  watch(events: ClusterEvents): () => void;
}

export function nodeCluster(): Cluster {
  const forked = new Map<Worker, ClusterWorker>();
  return {
    fork(env) {
      const worker = cluster.fork(env);
      const handoffs = watchHandoffs(worker);
      const handle: ClusterWorker = {
        id: worker.id,
        get pid() {
          return worker.process.pid;
        },
        isConnected: () => worker.isConnected(),
        isDead: () => worker.isDead(),
        send(message, callback) {
          worker.send(message, (err: Error | null) => callback?.(err));
        },
        kill(signal) {
          worker.process.kill(signal);
        },
        answerOrphans: () => handoffs.answerOrphans(),
      };
      forked.set(worker, handle);
      return handle;
    },
    watch(events) {
      const onMessage = (worker: Worker, message: unknown) => {
        const handle = forked.get(worker);
        if (handle !== undefined) events.message(handle, message);
      };
      const onExit = (worker: Worker, code: number | null, signal: string | null) => {
        const handle = forked.get(worker);
        if (handle === undefined) return;
        forked.delete(worker);
        events.exit(handle, code, signal);
      };
      cluster.on('message', onMessage);
      cluster.on('exit', onExit);
      return () => {
        cluster.off('message', onMessage);
        cluster.off('exit', onExit);
      };
    },
  };
}
