import { parseArgs } from 'node:util';
import { ExitCode, type Command } from './commands.ts';
import { loadConfigFile } from './config-file.ts';
import { checkOnline } from './online-check.ts';

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate a configuration file and print every problem (--online: contact providers and store)',
  usage: `Usage: tokengate check-config --config FILE [--online]

Loads FILE with the same environment overrides as 'start', prints every problem
with the path of the bad field, and exits 0 when the configuration is valid,
1 when it is not. Secrets are never printed.

With --online it then contacts what FILE names and prints one line for each,
OK or FAIL with the cause: every OIDC provider's discovery document (its issuer
must match exactly) and JWKS, Google's JWKS, and the store (one PING). Any FAIL
exits 1.`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, online: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      io.out(this.usage);
      return ExitCode.ok;
    }
    if (values.config === undefined) {
      io.err('tokengate check-config: --config FILE is required');
      return ExitCode.usage;
    }
    const config = loadConfigFile(values.config, io);
    if (config === undefined) return ExitCode.configInvalid;
    io.out(`${values.config}: OK (${config.providers.length} provider(s), ${config.routes.length} route(s), store ${config.store.type})`);
    if (!values.online) return ExitCode.ok;

    const checks = await checkOnline(config);
    for (const check of checks) (check.ok ? io.out : io.err)(`${check.name}: ${check.ok ? 'OK' : 'FAIL'}: ${check.detail}`);
    const failed = checks.filter((check) => !check.ok).length;
    if (failed === 0) return ExitCode.ok;
    io.err(`${values.config}: ${failed} of ${checks.length} online check(s) failed`);
    return ExitCode.configInvalid;
  },
};
