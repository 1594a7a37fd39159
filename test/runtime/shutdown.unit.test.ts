import { describe, expect, it } from 'vitest';
import { Listeners } from '../../src/runtime/listeners.ts';
import { shutDown, type ShutdownParts } from '../../src/runtime/shutdown.ts';
import { captureLogger } from '../observability/capture.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';
import { FakeServer } from './support/fakes.ts';

/** The graceful shutdown sequence on fake listeners and parts, with a clock moved by hand. */

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

function setup(options: { locksLeft?: number; ownsStore?: boolean } = {}) {
  const clock = new FakeClock();
  const log = captureLogger();
  const calls: string[] = [];
  const refreshes = deferred();
  const revocations = deferred();
  const parts: ShutdownParts = {
    logger: log.logger,
    readiness: { setDraining: () => calls.push('readiness draining') },
    tokens: {
      idle: () => refreshes.promise.then(() => void calls.push('refreshes done')),
      releaseLocks: async () => {
        calls.push('locks released');
        return options.locksLeft ?? 0;
      },
    },
    proxy: {
      dropUpgrades: () => calls.push('websockets dropped'),
      close: async () => void calls.push('upstream pools closed'),
    },
    revoker: {
      close: () => calls.push('revocations stop retrying'),
      idle: () => revocations.promise,
    },
    store: options.ownsStore === false ? undefined : { close: async () => void calls.push('store closed') },
  };
  const listeners = new Listeners();
  const main = new FakeServer();
  const ops = new FakeServer();
  listeners.add(main);
  listeners.add(ops, { keep: true });
  const events = () => log.lines().map((line) => line['event']).filter((event) => event !== undefined);
  return { clock, calls, parts, listeners, main, ops, refreshes, revocations, events };
}

describe('graceful shutdown', () => {
  it('drains for drainDelay, stops accepting, lets requests then refreshes finish, then closes everything, ops last', async () => {
    const { clock, calls, parts, listeners, main, ops, refreshes, revocations, events } = setup();
    const request = main.request();
    let done = false;
    void shutDown(listeners, parts, { graceMs: 10_000, drainDelayMs: 1_000, reason: 'SIGTERM', clock }).then(() => (done = true));
    await settle();
    expect(calls).toEqual(['readiness draining']);
    expect(request.headers.get('connection')).toBe('close');
    expect(main.closeRequested).toBe(false);

    await clock.advance(1_000);
    expect(main.closeRequested).toBe(true);
    expect(ops.closeRequested).toBe(false);
    request.finish();
    await settle();
    expect(calls).toEqual(['readiness draining']);
    refreshes.resolve();
    await settle();
    expect(calls).toEqual(['readiness draining', 'refreshes done', 'websockets dropped']);
    expect(main.allClosed).toBe(1);

    main.finishClose();
    await settle();
    expect(calls.slice(3)).toEqual(['locks released', 'revocations stop retrying']);
    revocations.resolve();
    await settle();
    expect(calls.slice(5)).toEqual(['upstream pools closed', 'store closed']);
    expect(ops.closeRequested).toBe(true);
    expect(done).toBe(false);
    ops.finishClose();
    await settle();
    expect(done).toBe(true);
    expect(events()).toEqual(['shutdown_started', 'draining', 'draining_in_flight', 'shutdown_finished']);
  });

  it('past the grace period it cuts off what is left, releases locks, abandons revocations, and leaves an injected store open', async () => {
    const { clock, calls, parts, listeners, main, ops, events } = setup({ locksLeft: 2, ownsStore: false });
    main.request();
    let done = false;
    void shutDown(listeners, parts, { graceMs: 3_000, drainDelayMs: 0, clock }).then(() => (done = true));
    await settle();
    expect(main.closeRequested).toBe(true);
    await clock.advance(2_999);
    expect(main.allClosed).toBe(0);
    await clock.advance(1);
    expect(main.allClosed).toBe(1);
    main.finishClose();
    await settle();
    // The revocations had the same deadline: nothing is left of it.
    await clock.advance(0);
    ops.finishClose();
    await settle();
    expect(done).toBe(true);
    expect(calls).toEqual(['readiness draining', 'websockets dropped', 'locks released', 'revocations stop retrying', 'upstream pools closed']);
    expect(events()).toEqual(['shutdown_started', 'draining_in_flight', 'grace_period_over', 'refresh_locks_released', 'revocations_unfinished', 'shutdown_finished']);
  });

  it('the drain delay never outlasts the grace period', async () => {
    const { clock, parts, listeners, main } = setup();
    void shutDown(listeners, parts, { graceMs: 500, drainDelayMs: 5_000, clock });
    await clock.advance(499);
    expect(main.closeRequested).toBe(false);
    await clock.advance(1);
    expect(main.closeRequested).toBe(true);
  });
});
