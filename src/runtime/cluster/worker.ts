import type { Config } from '../../config/index.ts';
import type { KeyReloadSource } from '../key-reload.ts';
import { serve, type GatewayFactory, type Serving } from '../serve.ts';
import type { ShutdownTrigger } from '../signals.ts';
import { isClusterMessage, type AnswerMessage, type ClusterMessage } from './messages.ts';

/**
 * A cluster worker: the gateway on the main (and forward-auth) listener, which node:cluster
 * shares between the workers; no ops listener (the primary serves it and asks each worker for
 * its metrics and readiness over IPC). It shuts down gracefully on SIGTERM/SIGINT, on the
 * primary's `shutdown` message, and when the primary goes away (the IPC channel closes).
 *
 * A signal during the shutdown does not force a worker's exit while its primary is there: a
 * process-group SIGTERM (Ctrl-C, `timeout`, systemd, Kubernetes) reaches the primary and every
 * worker, and the worker's copy, arriving after the primary's `shutdown` message, is not a
 * person asking twice. The primary alone decides to force (a genuine second signal to it
 * SIGKILLs the workers). A worker whose primary is gone forces on a second signal as usual.
 */

export interface WorkerOptions {
  create: GatewayFactory;
  /** node:cluster's worker id, for the log lines. */
  workerId: number;
  trigger?: ShutdownTrigger;
  /** Key reloads (SIGHUP from the primary, secret files). */
  reload?: KeyReloadSource;
}

export async function runWorker(config: Config, options: WorkerOptions): Promise<void> {
  const send = (message: ClusterMessage) => {
    if (process.connected) process.send?.(message);
  };
  let serving: Serving | undefined;
  let stopRequested: (reason: string) => void = () => undefined;
  const stop = new Promise<string>((resolve) => {
    stopRequested = resolve;
  });

  const onMessage = (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.tokengate === 'shutdown') stopRequested('primary asked');
    if (message.tokengate === 'reload') void serving?.keyReload?.reload('SIGHUP (primary)');
    if (message.tokengate !== 'ask' || serving === undefined) return;
    const gateway = serving.gateway;
    const answer = async (): Promise<AnswerMessage> =>
      message.what === 'metrics'
        ? { tokengate: 'answer', id: message.id, metrics: await gateway.metrics.registry.getMetricsAsJSON() }
        : { tokengate: 'answer', id: message.id, readiness: await gateway.readiness() };
    answer().then(send, (err: unknown) => gateway.logger.warn({ event: 'worker_answer_failed', err }, 'could not answer the primary'));
  };
  const onDisconnect = () => stopRequested('primary gone');
  process.on('message', onMessage);
  process.once('disconnect', onDisconnect);
  try {
    await serve(config, {
      create: options.create,
      workerId: options.workerId,
      ...(options.reload ? { reload: options.reload } : {}),
      stop,
      ...(options.trigger ? { trigger: options.trigger } : {}),
      forces: () => !process.connected,
      onListening: (up) => {
        serving = up;
        const forwardAuth = up.urls['forward-auth'];
        send({ tokengate: 'listening', main: up.urls.main ?? '', ...(forwardAuth ? { forwardAuth: `${forwardAuth}${config.forwardAuth.path}` } : {}) });
      },
    });
  } finally {
    process.off('message', onMessage);
    process.off('disconnect', onDisconnect);
    // Let the process end: the IPC channel would keep it alive.
    if (process.connected) process.disconnect();
  }
}
