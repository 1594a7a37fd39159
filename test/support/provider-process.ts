import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { IntrospectionResponse, OpenIdProviderOptions, OpenIdProviderStats } from '../../demo/op.ts';

/**
 * The demo OpenID Provider (the real `oidc-provider`, refresh-token rotation and reuse detection
 * on, as in-process) in a CHILD PROCESS, so that a test can hang it the way a stalled provider
 * hangs: `pause()` sends SIGSTOP (the kernel still accepts connections and buffers requests, the
 * provider processes them only after `resume()`, SIGCONT), then the queued requests are answered
 * in order, even those whose client gave up. Reusable by any suite (hung-provider and chaos
 * scenarios): `startGatewayStack({ startProvider: startProviderProcess })`.
 *
 * While paused, the IPC calls (stats, introspect, ...) wait too: ask after `resume()`.
 */

export interface ProviderProcessStats extends OpenIdProviderStats {
  /** The most times any one refresh token value was presented at the token endpoint (0: none). */
  presentedMax: number;
  /** How many distinct refresh token values were presented. */
  presentedTokens: number;
}

export interface ProviderProcess {
  readonly issuer: string;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly paused: boolean;
  stats(): Promise<ProviderProcessStats>;
  resetStats(): Promise<void>;
  setTokenEndpointDelay(ms: number): Promise<void>;
  introspect(token: string): Promise<IntrospectionResponse>;
  /** SIGSTOP: the provider process stops running; its listening socket keeps accepting. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./provider-process-child.ts', import.meta.url));
const CALL_TIMEOUT_MS = 10_000;

export async function startProviderProcess(options: OpenIdProviderOptions = {}): Promise<ProviderProcess> {
  const child = fork(CHILD, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let paused = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const call = pending.get(message.id);
    if (call === undefined) return;
    pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.ok) call.resolve(message.result);
    else call.reject(new Error(message.error));
  });
  child.once('exit', (code, signal) => {
    for (const call of pending.values()) {
      clearTimeout(call.timer);
      call.reject(new Error(`the provider process exited (code ${code}, signal ${signal})`));
    }
    pending.clear();
  });

  const call = <T>(request: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the provider process did not answer ${String(request['op'])} within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      child.send({ id, ...request });
    });

  let started: { issuer: string; port: number };
  try {
    started = await call<{ issuer: string; port: number }>({ op: 'start', options });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    issuer: started.issuer,
    url: started.issuer,
    port: started.port,
    pid: child.pid!,
    get paused() {
      return paused;
    },
    stats: () => call<ProviderProcessStats>({ op: 'stats' }),
    resetStats: () => call<void>({ op: 'resetStats' }),
    setTokenEndpointDelay: (ms) => call<void>({ op: 'setTokenEndpointDelay', ms }),
    introspect: (token) => call<IntrospectionResponse>({ op: 'introspect', token }),
    pause() {
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      child.kill('SIGCONT');
      paused = false;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (paused) child.kill('SIGCONT');
      await Promise.race([call({ op: 'close' }).catch(() => undefined), exited]);
      const killed = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killed);
    },
  };
}
