import type { ShutdownTrigger } from '../runtime/signals.ts';

/**
 * The CLI's command table. Each command parses its own arguments, prints its own --help and
 * returns an exit code; `main` in src/cli.ts only dispatches.
 */
export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** The process's SIGTERM/SIGINT handling, installed before the CLI loaded (src/cli.ts). */
  shutdown?: ShutdownTrigger;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CommandIo): Promise<number>;
}

/** Exit codes, documented in the README and in `tokengate --help`. */
export const ExitCode = {
  ok: 0,
  /** Invalid configuration (check-config found problems, or start could not load it). */
  configInvalid: 1,
  /** Wrong command-line usage. */
  usage: 2,
  /** The gateway failed at runtime (could not listen, store unreachable at start, ...). */
  runtime: 3,
} as const;
