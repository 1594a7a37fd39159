import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { shutdownTrigger, signalExitCode, type ShutdownSignal } from '../../src/runtime/signals.ts';
import { settle } from '../support/fake-clock.ts';

/** SIGTERM/SIGINT handling, with the signals emitted on an EventEmitter instead of the process. */

function setup() {
  const signals = new EventEmitter();
  const forced: ShutdownSignal[] = [];
  const trigger = shutdownTrigger((signal) => forced.push(signal), signals);
  let started: string | undefined;
  void trigger.started.then((reason) => (started = reason));
  return { signals, forced, trigger, started: () => started };
}

describe('the shutdown trigger', () => {
  it('the first signal starts the shutdown, naming the signal; a second one forces', async () => {
    const { signals, forced, trigger, started } = setup();
    expect(trigger.begun).toBe(false);
    signals.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(trigger.begun).toBe(true);
    expect(started()).toBe('SIGTERM');
    expect(forced).toEqual([]);
    signals.emit('SIGINT', 'SIGINT');
    expect(forced).toEqual(['SIGINT']);
  });

  it('begin() starts it without a signal; the next signal forces', async () => {
    const { signals, forced, trigger, started } = setup();
    trigger.begin('primary asked');
    trigger.begin('ignored: already begun');
    await settle();
    expect(started()).toBe('primary asked');
    signals.emit('SIGTERM', 'SIGTERM');
    expect(forced).toEqual(['SIGTERM']);
  });

  it('onForce() replaces the force handler, and a signal it does not count as forcing is ignored', () => {
    const { signals, forced, trigger } = setup();
    const taken: ShutdownSignal[] = [];
    let primaryConnected = true;
    trigger.onForce((signal) => taken.push(signal), () => !primaryConnected);
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGTERM', 'SIGTERM');
    expect(taken).toEqual([]);
    primaryConnected = false;
    signals.emit('SIGINT', 'SIGINT');
    expect(taken).toEqual(['SIGINT']);
    expect(forced).toEqual([]);
  });

  it('dispose() removes its listeners', () => {
    const { signals, trigger } = setup();
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    expect(signals.listenerCount('SIGINT')).toBe(1);
    trigger.dispose();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('a forced exit uses 128 + the signal number', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });
});
