#!/usr/bin/env node
// The signal handlers go in before anything else loads (the gateway takes about half a second
// to import): a SIGTERM or Ctrl-C while it loads or starts is a graceful shutdown, not Node's
// default exit 143. See src/runtime/signals.ts.
import { shutdownTrigger } from './runtime/signals.ts';

const shutdown = shutdownTrigger();
const { main } = await import('./cli/main.ts');

process.exitCode = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  shutdown,
});
shutdown.dispose();
