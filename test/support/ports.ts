import { createServer, type AddressInfo } from 'node:net';

/**
 * Ports for tests. A server in the test process listens on port 0 and reads its port back; a
 * child process that can bind 0 reports the port it bound (its "listening" log line, the demo's
 * banner). A number chosen before the start is left for what cannot do that:
 *
 * - a process whose config or command line must name its port, or whose port is part of a URL
 *   registered elsewhere first (redis-server, nginx, a gateway's publicOrigin at the provider):
 *   `onFreePort(start)`, which picks another port when the start fails with EADDRINUSE (the
 *   port was free when picked, and another process took it before the start bound it);
 * - a port nothing listens on, for "connection refused": `freePort()`, used but never bound.
 */

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** `count` ports free a moment ago, all probed at once so that none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const probes = Array.from({ length: count }, () => createServer());
  await Promise.all(probes.map((probe) => new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve))));
  const ports = probes.map((probe) => (probe.address() as AddressInfo).port);
  await Promise.all(probes.map((probe) => new Promise<void>((resolve) => probe.close(() => resolve()))));
  return ports;
}

/** Whether a failed start failed on a taken port: an errno, or a child's output that names it. */
export function isAddressInUse(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') return true;
  return /EADDRINUSE|address already in use/i.test(err instanceof Error ? err.message : String(err));
}

const ATTEMPTS = 5;

/**
 * `start(port)` on a port that was free a moment ago; when it fails because the port was taken
 * meanwhile, again on another one (at most 5 attempts). `start` must leave nothing running when
 * it fails. `count` ports at once are distinct.
 */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const ports = await freePorts(count);
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= ATTEMPTS || !isAddressInUse(err)) throw err;
    }
  }
}

export function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  return onFreePorts(1, ([port]) => start(port!));
}
