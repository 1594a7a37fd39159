import { startCliStack, type CliStack, type CliStackOptions } from '../test/ops/support/cli-stack.ts';
import type { RunningCli } from '../test/cli/run-cli.ts';
import { CSRF } from './load.ts';

/**
 * A chaos scenario's deployment: `tokengate start` as a child process (the CLI stack of the ops
 * tests: the demo OpenID Provider and the sample API in this process, a real redis-server), with
 * `sessions` browsers logged in. Requests go to /api/who, spread over the sessions.
 */

export interface ChaosStack {
  stack: CliStack;
  cli: RunningCli;
  /** Cookie headers of the logged-in sessions. */
  cookies: string[];
  /** The `n`th request of a load: a session's GET /api/who. */
  target(n: number): { url: string; cookie: string };
  /** The gateway's processes: the primary, and the workers that logged they listen (event worker_listening or worker_restarted) and still run. */
  pids(): number[];
  /** Sessions that answer 401 (or nothing but 503 for 15 s) after the scenario. */
  sessionsLost(): Promise<number>;
  close(): Promise<void>;
}

export async function startChaosStack(options: CliStackOptions & { sessions?: number }): Promise<ChaosStack> {
  const stack = await startCliStack({ store: 'redis', ...options });
  try {
    const cli = await stack.start();
    const cookies: string[] = [];
    for (let index = 0; index < (options.sessions ?? 4); index += 1) {
      const browser = await stack.login();
      cookies.push(await browser.jar.getCookieString(stack.publicOrigin));
    }
    const target = (n: number) => ({ url: `${stack.publicOrigin}/api/who?n=${n}`, cookie: cookies[n % cookies.length]! });
    return {
      stack,
      cli,
      cookies,
      target,
      pids() {
        const workers = stack.logLines().filter((line) => line['event'] === 'worker_listening' || line['event'] === 'worker_restarted').map((line) => line['pid'] as number);
        return [cli.child.pid!, ...workers].filter(alive);
      },
      async sessionsLost() {
        // Lost means the session is gone (401), not that the store is still recovering (503):
        // each session is asked until it answers something other than 503 or 15 s pass.
        let lost = 0;
        for (const cookie of cookies) {
          const until = performance.now() + 15_000;
          let status: number | undefined;
          do {
            const res = await fetch(`${stack.publicOrigin}/api/who`, { headers: { cookie, ...CSRF } }).catch(() => undefined);
            await res?.arrayBuffer();
            status = res?.status;
            if (status === 503 || status === undefined) await sleep(250);
          } while ((status === 503 || status === undefined) && performance.now() < until);
          if (status !== 200) lost += 1;
        }
        return lost;
      },
      close: () => stack.close(),
    };
  } catch (err) {
    await stack.close();
    throw err;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
