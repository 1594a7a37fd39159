import { describe, expect, it } from 'vitest';
import { Listeners } from '../../src/runtime/listeners.ts';
import { settle } from '../support/fake-clock.ts';
import { FakeServer } from './support/fakes.ts';

/** Listeners on fake servers and responses: no sockets, no timers. */

/** Whether `promise` has settled by now. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await settle();
  return done;
}

describe('Listeners drain before they close', () => {
  it('drain() makes every response not yet answered close its connection, in flight or still to come', () => {
    const listeners = new Listeners();
    const server = new FakeServer();
    listeners.add(server);
    const answered = server.request();
    answered.answer();
    const waiting = server.request();
    listeners.drain();
    const later = server.request();
    expect(waiting.shouldKeepAlive).toBe(false);
    expect(waiting.headers.get('connection')).toBe('close');
    expect(later.headers.get('connection')).toBe('close');
    // Its head is gone already: nothing to change.
    expect(answered.shouldKeepAlive).toBe(true);
    expect(answered.headers.has('connection')).toBe(false);
    expect(server.closeRequested).toBe(false);
  });

  it('before drain() responses keep their connections', () => {
    const listeners = new Listeners();
    const server = new FakeServer();
    listeners.add(server);
    const res = server.request();
    expect(res.shouldKeepAlive).toBe(true);
    expect(res.headers.has('connection')).toBe(false);
  });

  it('idle() resolves once the last request in flight is done, counting requests that arrive meanwhile', async () => {
    const listeners = new Listeners();
    const server = new FakeServer();
    listeners.add(server);
    expect(await settled(listeners.idle())).toBe(true);
    const first = server.request();
    const idle = listeners.idle();
    const second = server.request();
    expect(listeners.inFlight).toBe(2);
    first.finish();
    expect(await settled(idle)).toBe(false);
    second.finish();
    expect(await settled(idle)).toBe(true);
    expect(listeners.inFlight).toBe(0);
  });

  it('stopAccepting() closes every server and its idle connections; closed() waits for them; a server added later is closed at once', async () => {
    const listeners = new Listeners();
    const one = new FakeServer();
    const two = new FakeServer();
    listeners.add(one);
    listeners.add(two);
    listeners.stopAccepting();
    expect(listeners.draining).toBe(true);
    expect([one.closeRequested, two.closeRequested]).toEqual([true, true]);
    expect([one.idleClosed, two.idleClosed]).toEqual([1, 1]);
    const late = new FakeServer();
    listeners.add(late);
    expect(late.closeRequested).toBe(true);

    const closed = listeners.closed();
    one.finishClose();
    two.finishClose();
    expect(await settled(closed)).toBe(false);
    late.finishClose();
    expect(await settled(closed)).toBe(true);
  });

  it('forceClose() ends the connections left on every drained server', () => {
    const listeners = new Listeners();
    const server = new FakeServer();
    listeners.add(server);
    listeners.forceClose();
    expect(server.allClosed).toBe(1);
  });

  it('a server added with keep (ops) is neither drained nor closed until closeKept()', async () => {
    const listeners = new Listeners();
    const ops = new FakeServer();
    listeners.add(ops, { keep: true });
    listeners.drain();
    const probe = ops.request();
    listeners.stopAccepting();
    listeners.forceClose();
    await listeners.closed();
    expect(probe.headers.has('connection')).toBe(false);
    expect(listeners.inFlight).toBe(0);
    expect(ops.closeRequested).toBe(false);
    expect(ops.allClosed).toBe(0);

    const closed = listeners.closeKept();
    expect(ops.closeRequested).toBe(true);
    ops.finishClose();
    expect(await settled(closed)).toBe(true);
  });
});
