import childProcess from 'node:child_process';
import net from 'node:net';

/**
 * Setup file of the unit tier (vitest.config.ts): a `*.unit.test.ts` file is pure logic, so
 * listening, connecting and starting a child process throw here, naming the rule. A test that
 * needs any of them is an integration test: drop `.unit` from its name.
 */

function refuse(what: string): never {
  throw new Error(`a unit test may not ${what}: it is an integration test (name it *.test.ts, not *.unit.test.ts)`);
}

net.Server.prototype.listen = function listen(): never {
  refuse('listen on a port');
};
net.Socket.prototype.connect = function connect(): never {
  refuse('open a connection');
};
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
  Object.defineProperty(childProcess, name, { value: () => refuse(`start a process (${name})`) });
}
