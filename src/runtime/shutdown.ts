import type { Logger } from 'pino';
import { systemClock, sleep, type Clock } from '../clock.ts';
import { Deadline } from './deadline.ts';
import type { Listeners } from './listeners.ts';

/**
 * Graceful shutdown of one gateway, the whole sequence in one place (Gateway.close runs it):
 *
 * 1. readiness turns not-ready;
 * 2. for `drainDelayMs` the listeners keep accepting and every response carries
 *    `Connection: close` (load balancers notice the readiness change meanwhile);
 * 3. they stop accepting connections (idle keep-alive ones are closed);
 * 4. in-flight requests, then refreshes that outlived their request, may finish until the
 *    grace period (`graceMs`, counted from the start) is over;
 * 5. what is left is cut off (WebSockets, connections), refresh locks still held are released,
 *    revocations get what remains of the grace period, the upstream pools and the store close;
 * 6. the listeners kept until the end (ops) close, and the log is flushed.
 *
 * Each step logs a line with an `event` code (see the README's Logs section).
 */

/** The parts of a gateway its shutdown stops, in the order it stops them. */
export interface ShutdownParts {
  logger: Logger;
  readiness: { setDraining(): void };
  /** Refreshes: those that outlived their request finish; locks of unfinished ones are released. */
  tokens: { idle(): Promise<void>; releaseLocks(): Promise<number> };
  /** WebSockets are dropped once the requests are done or the grace period is over; then the upstream pools close. */
  proxy: { dropUpgrades(): void; close(): Promise<void> };
  revoker: { close(): void; idle(): Promise<void> };
  /** The store when the gateway built it; undefined when its owner closes it. */
  store: { close(): Promise<void> } | undefined;
}

export interface ShutdownOptions {
  graceMs: number;
  drainDelayMs: number;
  /** What asked for it (a signal name, `primary asked`); logged. */
  reason?: string;
  clock?: Clock;
}

export async function shutDown(listeners: Listeners, parts: ShutdownParts, options: ShutdownOptions): Promise<void> {
  const { logger, tokens, proxy, revoker } = parts;
  const { graceMs } = options;
  const clock = options.clock ?? systemClock;
  logger.info({ event: 'shutdown_started', ...(options.reason ? { reason: options.reason } : {}), graceMs }, 'shutting down');
  parts.readiness.setDraining();
  const deadline = new Deadline(graceMs, clock);
  listeners.drain();
  const drainMs = Math.min(options.drainDelayMs, graceMs);
  if (drainMs > 0) {
    logger.info({ event: 'draining', drainDelayMs: drainMs }, 'draining: still accepting, every response closes its connection');
    await sleep(clock, drainMs);
  }
  listeners.stopAccepting();
  if (listeners.inFlight > 0) logger.info({ event: 'draining_in_flight', inFlight: listeners.inFlight, graceMs }, 'draining: waiting for in-flight requests');
  // Requests first (they may be waiting on a refresh), then refreshes that outlived their request.
  const drained = await deadline.wait(listeners.idle().then(() => tokens.idle()));
  if (!drained) logger.warn({ event: 'grace_period_over', inFlight: listeners.inFlight, graceMs }, 'grace period over: closing the remaining connections');
  proxy.dropUpgrades();
  listeners.forceClose();
  await listeners.closed();
  const released = await tokens.releaseLocks();
  if (released > 0) logger.warn({ event: 'refresh_locks_released', locks: released }, 'released refresh locks of unfinished refreshes');
  revoker.close();
  if (!(await deadline.wait(revoker.idle()))) logger.warn({ event: 'revocations_unfinished' }, 'grace period over: revocations still running are abandoned');
  await proxy.close();
  await parts.store?.close();
  await listeners.closeKept();
  logger.info({ event: 'shutdown_finished' }, 'shut down');
  // Log lines still in the asynchronous stdout buffer go out before close resolves.
  await new Deadline(1_000, clock).wait(new Promise<void>((resolve) => logger.flush(() => resolve())));
}
