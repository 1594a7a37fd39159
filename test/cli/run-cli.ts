import { spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';

/**
 * The CLI as a user runs it: `node src/cli.ts ...` in a child process, with its own env.
 * `runCli` waits for the exit; `startCli` keeps it running until `stop()` sends a signal.
 */

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Only what Node needs, plus `env`: no TOKENGATE_* from the developer's shell leaks in. The Node
 * running the tests comes first on PATH and TOKENGATE_SKIP_INSTALL is set, so that a script
 * (scripts/demo) runs on it and installs nothing: no download inside a test's timeout.
 */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const path = [dirname(process.execPath), process.env['PATH'] ?? ''].join(':');
  return { PATH: path, HOME: process.env['HOME'] ?? '/tmp', TOKENGATE_SKIP_INSTALL: '1', ...env };
}

export interface CliOptions {
  env?: Record<string, string>;
  /** A script for node instead of src/cli.ts. */
  entry?: string;
  /** A whole command line prefix instead of `node <entry>`, e.g. ['bash', 'scripts/demo']. */
  command?: string[];
  cwd?: string;
  /** Its own process group (the child's pid is the group id), for process-group signals. */
  detached?: boolean;
}

function spawnCli(args: string[], options: CliOptions): ChildProcess {
  const [program, ...prefix] = options.command ?? [process.execPath, options.entry ?? CLI];
  return spawn(program!, [...prefix, ...args], { cwd: options.cwd ?? ROOT, env: childEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
}

export function runCli(args: string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  return collect(child, options.timeoutMs ?? 20_000);
}

export interface RunningCli {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves when stdout or stderr matches, rejects if the process exits first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  exited: Promise<CliResult>;
}

export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const child = spawnCli(args, options);
  const exited = collect(child, 120_000);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => finish(new Error(`timed out waiting for ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`)), timeoutMs);
        const check = () => {
          const match = pattern.exec(stdout) ?? pattern.exec(stderr);
          if (match) finish(undefined, match[0]);
        };
        const onExit = () => finish(new Error(`exited before ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`));
        function finish(err?: Error, value?: string) {
          clearTimeout(deadline);
          child.stdout!.off('data', check);
          child.stderr!.off('data', check);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve(value!);
        }
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * `startCli`, resolved once its output matches `ready`. A process that exits or times out first
 * is stopped and its output thrown, so that `onFreePort` (support/ports.ts) can start it again
 * on another port when that output says EADDRINUSE.
 */
export async function startCliReady(args: string[], options: CliOptions, ready: RegExp, timeoutMs?: number): Promise<RunningCli> {
  const cli = startCli(args, options);
  try {
    await cli.waitFor(ready, timeoutMs);
    return cli;
  } catch (err) {
    await cli.stop('SIGKILL');
    throw err;
  }
}

/** The fields of the first JSON log line whose `event` code is `event` (e.g. 'listening'). */
export function logLine(cli: RunningCli, event: string): Record<string, unknown> | undefined {
  for (const line of cli.output().stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const fields = JSON.parse(line) as Record<string, unknown>;
    if (fields['event'] === event) return fields;
  }
  return undefined;
}

function collect(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
