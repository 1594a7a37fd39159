/**
 * The IPC protocol between the benchmark and the servers it runs in child processes, and the
 * child side of it. A child entry calls `serveChild(start)`: `start` receives the parent's
 * `init` payload and returns a listening server's port, an answer function for `ask`
 * messages, and a close function that runs on `stop` before the process exits normally.
 */
export type ParentMessage =
  | { type: 'init'; init: unknown }
  | { type: 'ask'; id: number; what: string }
  | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'failed'; reason: string }
  | { type: 'answer'; id: number; value: unknown };

export interface StartedChild {
  port: number;
  answer?(what: string): unknown;
  close(): Promise<void>;
}

export function serveChild(start: (init: unknown) => Promise<StartedChild>): void {
  const send = (message: ChildMessage) => process.send?.(message);
  let started: StartedChild | undefined;

  process.on('message', async (message: ParentMessage) => {
    if (message.type === 'init') {
      try {
        started = await start(message.init);
        send({ type: 'ready', port: started.port });
      } catch (err) {
        send({ type: 'failed', reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      }
    } else if (message.type === 'ask') {
      send({ type: 'answer', id: message.id, value: await started?.answer?.(message.what) });
    } else if (message.type === 'stop') {
      await started?.close().catch(() => undefined);
      // A normal exit, not a signal: `--cpu-prof` writes its profile on exit.
      process.exit(0);
    }
  });
  // If the parent dies, do not linger.
  process.on('disconnect', () => process.exit(0));
}
