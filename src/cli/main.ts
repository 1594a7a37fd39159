import { readFileSync } from 'node:fs';
import { checkConfigCommand } from './check-config.ts';
import { ExitCode, type Command, type CommandIo } from './commands.ts';
import { devCommand } from './dev.ts';
import { keygenCommand } from './keygen.ts';
import { keysCommand } from './keys-status.ts';
import { startCommand } from './start.ts';

const commands: readonly Command[] = [startCommand, devCommand, checkConfigCommand, keygenCommand, keysCommand];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return `Tokengate: session cookie in, bearer token out.

Usage: tokengate <command> [options]

Commands:
${commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Options:
  -h, --help     show help (also: tokengate <command> --help)
  -v, --version  print the version

Exit codes:
  0  success
  1  invalid configuration
  2  wrong usage
  3  runtime failure (cannot listen, cannot reach the store at start, ...)`;
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.out(help());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '-v' || name === '--version') {
    io.out(version());
    return ExitCode.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.err(`tokengate: unknown command "${name}"\n\n${help()}`);
    return ExitCode.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`tokengate ${name}: ${(err as Error).message}\n\n${command.usage}`);
      return ExitCode.usage;
    }
    throw err;
  }
}
