import { loadConfig, type Config } from '../config/index.ts';
import { ConfigError } from '../errors.ts';
import type { CommandIo } from './commands.ts';

/**
 * Loads the --config FILE for a CLI command. On an invalid configuration it prints
 * `FILE: <every problem>` to stderr and returns undefined (the caller exits with
 * ExitCode.configInvalid); any other error propagates.
 */
export function loadConfigFile(file: string, io: CommandIo): Config | undefined {
  try {
    return loadConfig({ file, env: io.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`${file}: ${err.message}`);
    return undefined;
  }
}
