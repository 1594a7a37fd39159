import { constants } from 'node:os';

/**
 * SIGTERM and SIGINT for a process that shuts down gracefully: the first one (or `begin()`, for
 * a shutdown asked for by other means, such as a cluster primary) starts the shutdown; any
 * signal after that means "now": `onForce` runs, which exits the process.
 */

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
export type ShutdownSignal = (typeof SHUTDOWN_SIGNALS)[number];

/** The conventional exit status of a process ended by `signal` (128 + its number). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 15);
}

export interface ShutdownTrigger {
  /** Resolves with what started the shutdown: a signal name or the reason given to `begin`. */
  readonly started: Promise<string>;
  /** Starts the shutdown without a signal; a no-op once started. */
  begin(reason: string): void;
  /** Removes the signal listeners. */
  dispose(): void;
}

export function shutdownTrigger(onForce: (signal: ShutdownSignal) => void): ShutdownTrigger {
  let begun = false;
  let resolveStarted: (reason: string) => void = () => undefined;
  const started = new Promise<string>((resolve) => {
    resolveStarted = resolve;
  });
  const begin = (reason: string) => {
    if (begun) return;
    begun = true;
    resolveStarted(reason);
  };
  const onSignal = (signal: ShutdownSignal) => {
    if (begun) onForce(signal);
    else begin(signal);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
  return {
    started,
    begin,
    dispose() {
      for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
    },
  };
}
