import { constants } from 'node:os';

/**
 * SIGTERM and SIGINT for a process that shuts down gracefully: the first one (or `begin()`, for
 * a shutdown asked for by other means, such as a cluster primary) starts the shutdown; a signal
 * after that means "now": the force handler runs, which exits the process.
 *
 * The CLI installs one trigger before it loads anything else (src/cli.ts), so a signal that
 * arrives while the gateway is still loading or starting is a shutdown request, not Node's
 * default exit 143. The code that serves later takes it over: it sets what forcing does and
 * when a signal counts as forcing (a cluster worker whose primary drives the shutdown ignores
 * its own copies of a process-group signal: only the primary decides to force).
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
  /** True once the shutdown has started. */
  readonly begun: boolean;
  /** Starts the shutdown without a signal; a no-op once started. */
  begin(reason: string): void;
  /**
   * What a signal after the start does, and whether a given signal forces at all (default:
   * every one does). A signal that does not force is ignored.
   */
  onForce(handler: (signal: ShutdownSignal) => void, forces?: (signal: ShutdownSignal) => boolean): void;
  /** Removes the signal listeners. */
  dispose(): void;
}

/** Where the signals come from: the process (a unit test passes an EventEmitter). */
export interface SignalSource {
  on(signal: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
  off(signal: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
}

export function shutdownTrigger(onForce: (signal: ShutdownSignal) => void = exitBySignal, signals: SignalSource = process): ShutdownTrigger {
  let begun = false;
  let force = onForce;
  let forces: (signal: ShutdownSignal) => boolean = () => true;
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
    if (!begun) begin(signal);
    else if (forces(signal)) force(signal);
  };
  for (const signal of SHUTDOWN_SIGNALS) signals.on(signal, onSignal);
  return {
    started,
    get begun() {
      return begun;
    },
    begin,
    onForce(handler, when) {
      force = handler;
      forces = when ?? (() => true);
    },
    dispose() {
      for (const signal of SHUTDOWN_SIGNALS) signals.off(signal, onSignal);
    },
  };
}

export function exitBySignal(signal: ShutdownSignal): never {
  process.exit(signalExitCode(signal));
}
