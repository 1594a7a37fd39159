import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.ts';
import { ConfigError } from '../errors.ts';
import { ExitCode, type Command } from './commands.ts';

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate a configuration file and print every problem',
  usage: `Usage: tokengate check-config --config FILE

Loads FILE with the same environment overrides as 'start', prints every problem
with the path of the bad field, and exits 0 when the configuration is valid,
1 when it is not. Secrets are never printed.`,
  async run(args, io) {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      io.out(this.usage);
      return ExitCode.ok;
    }
    if (values.config === undefined) {
      io.err('tokengate check-config: --config FILE is required');
      return ExitCode.usage;
    }
    try {
      const config = loadConfig({ file: values.config, env: io.env });
      io.out(
        `${values.config}: OK (${config.providers.length} provider(s), ${config.routes.length} route(s), store ${config.store.type})`,
      );
      return ExitCode.ok;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.err(`${values.config}: ${err.message}`);
      return ExitCode.configInvalid;
    }
  },
};
