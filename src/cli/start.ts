import { parseArgs } from 'node:util';
import { createLogger } from '../observability/index.ts';
import { ExitCode, type Command } from './commands.ts';
import { loadConfigFile } from './config-file.ts';
import { providerUris } from './registration.ts';
import { parseWorkersFlag, serveWithWorkers, workerCount, WORKERS_OPTION } from './workers.ts';

/**
 * `tokengate start --config FILE [--workers N]`: the gateway on its listeners (see
 * src/runtime/serve.ts), in this process or in N cluster workers (src/cli/workers.ts).
 */
export const startCommand: Command = {
  name: 'start',
  summary: 'run the gateway from a configuration file',
  usage: `Usage: tokengate start --config FILE [--workers N]

Loads FILE (with the environment overrides listed in config/gateway.example.yaml),
checks that the store answers, and listens on:
  listen              the browser-facing gateway
  ops                 /healthz, /readyz and /metrics
  forwardAuth.listen  the forward-auth verify endpoint, when enabled with its own listener

Options:
  --workers N   processes serving the listeners (node:cluster). Default: \`workers\`
                from FILE, else the number of CPUs with the redis store, 1 with the
                memory store (which cannot be shared: more than 1 is refused).

SIGHUP reloads the encryption and cookie keys (FILE and its secret files read
again; a change in the directory of FILE or of a secret file does the same). A
reload that fails validation keeps the current keys and logs why.

SIGTERM or SIGINT shuts down gracefully: /readyz turns 503, the listeners keep
accepting for shutdown.drainDelay (every response says Connection: close), then
take no new connections; in-flight requests and refreshes finish within
shutdown.grace, then the store closes and the process exits 0. A second signal
exits at once.

Exit codes: 0 after a signal, 1 invalid configuration (or --workers with the memory
store), 2 wrong usage, 3 the store does not answer or a port cannot be bound.`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, workers: WORKERS_OPTION, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      io.out(this.usage);
      return ExitCode.ok;
    }
    if (values.config === undefined) {
      io.err('tokengate start: --config FILE is required');
      return ExitCode.usage;
    }
    const flag = parseWorkersFlag(values.workers);
    if (typeof flag === 'object') {
      io.err(`tokengate start: ${flag.problem}`);
      return ExitCode.usage;
    }
    const config = loadConfigFile(values.config, io);
    if (config === undefined) return ExitCode.configInvalid;
    const count = workerCount(config, flag, true);
    if ('problem' in count) {
      io.err(`tokengate start: ${count.problem}`);
      return ExitCode.configInvalid;
    }
    const logger = createLogger(config.logging);
    return serveWithWorkers(config, io, {
      workers: count.workers,
      reload: { file: values.config, env: io.env },
      logger,
      onReady: () => {
        logger.info({ event: 'open_url', open: `${config.publicOrigin}/` }, `open ${config.publicOrigin}/ in a browser (other hosts are redirected there)`);
        for (const provider of config.providers) {
          const uris = providerUris(config, provider);
          logger.info({ event: 'register_uris', ...uris }, `register with provider ${provider.id}: ${[uris.callback, uris.postLogout, uris.backchannelLogout].filter(Boolean).join(' ')}`);
        }
      },
    });
  },
};
