import { parseArgs } from 'node:util';
import { generateKey } from '../crypto/keyring.ts';
import { ExitCode, type Command } from './commands.ts';

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'print a new random 256-bit key (base64url) for keys.encryption or keys.cookie',
  usage: `Usage: tokengate keygen [--kid ID]

Prints a new random 256-bit key, base64url encoded. With --kid, prints it as an
entry for TOKENGATE_ENCRYPTION_KEYS (kid:key).`,
  async run(args, io) {
    const { values } = parseArgs({ args, options: { kid: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      io.out(this.usage);
      return ExitCode.ok;
    }
    if (values.kid !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(values.kid)) {
      io.err('tokengate keygen: --kid must be 1-32 characters of [A-Za-z0-9_-]');
      return ExitCode.usage;
    }
    io.out(values.kid === undefined ? generateKey() : `${values.kid}:${generateKey()}`);
    return ExitCode.ok;
  },
};
