import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage } from './children/protocol.ts';

/**
 * Runs one server of the benchmark (upstream, bare proxy, a gateway) in its own Node process, so
 * its CPU and memory are its own and the load generator never shares its event loop. The child
 * speaks a small IPC protocol (children/protocol.ts): the parent sends `init`, the child answers
 * `ready` with its port, then answers `ask` messages until `stop`.
 */
export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  ask<T>(what: string): Promise<T>;
  /** Asks the child to close and exit (so `--cpu-prof` can write its profile); kills it if it lingers. */
  stop(): Promise<void>;
}

export interface StartChildOptions {
  /** Passed as the `init` message. */
  init?: unknown;
  /** Extra Node flags, e.g. `--cpu-prof`. */
  execArgv?: string[];
  /** Show the child's stdout (its logs). Default: discarded. */
  showStdout?: boolean;
  readyTimeoutMs?: number;
}

export function childEntry(name: 'upstream' | 'bare-proxy' | 'undici-proxy' | 'gateway'): string {
  return fileURLToPath(new URL(`./children/${name}.ts`, import.meta.url));
}

export async function startChild(name: string, entry: string, options: StartChildOptions = {}): Promise<ChildHandle> {
  const child = fork(entry, [], {
    execArgv: ['--disable-warning=ExperimentalWarning', ...(options.execArgv ?? [])],
    stdio: ['ignore', options.showStdout ? 'inherit' : 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'answer') {
      pending.get(message.id)?.(message.value);
      pending.delete(message.id);
    }
  });

  const ready = await waitForReady(name, child, options.readyTimeoutMs ?? 30_000, options.init);
  const send = (message: ParentMessage) => child.send(message);

  return {
    name,
    pid: child.pid!,
    port: ready.port,
    url: `http://127.0.0.1:${ready.port}`,
    ask<T>(what: string): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error(`${name} has exited`));
        pending.set(id, resolve as (value: unknown) => void);
        send({ type: 'ask', id, what });
      });
    },
    stop: () => stopChild(child, send),
  };
}

function waitForReady(name: string, child: ChildProcess, timeoutMs: number, init: unknown): Promise<{ port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'ready') {
        cleanup();
        resolve({ port: message.port });
      } else if (message.type === 'failed') {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`${name} failed to start: ${message.reason}`));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: 'init', init } satisfies ParentMessage);
  });
}

async function stopChild(child: ChildProcess, send: (message: ParentMessage) => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  send({ type: 'stop' });
  const escalate = setTimeout(() => child.kill('SIGTERM'), 5_000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(escalate);
    clearTimeout(kill);
  }
}
