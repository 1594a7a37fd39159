import { describe, expect, it } from 'vitest';
import { ReplayBudget } from '../../src/proxy/replay-budget.ts';
import { SessionCounter } from '../../src/proxy/upgrade.ts';

describe('ReplayBudget', () => {
  it('reservations share one limit; a chunk that does not fit is refused whole; release gives back everything once', () => {
    const budget = new ReplayBudget(100);
    const a = budget.reserve();
    const b = budget.reserve();
    expect(a.grow(60)).toBe(true);
    expect(b.grow(50)).toBe(false);
    expect(b.grow(40)).toBe(true);
    expect(budget.used).toBe(100);
    a.release();
    a.release();
    expect(budget.used).toBe(40);
    b.release();
    expect(budget.used).toBe(0);
  });
});

describe('SessionCounter', () => {
  it('allows up to the cap per session, independently, and frees a slot on give', () => {
    const counter = new SessionCounter(2);
    expect([counter.take('s1'), counter.take('s1'), counter.take('s1'), counter.take('s2')]).toEqual([true, true, false, true]);
    counter.give('s1');
    expect(counter.take('s1')).toBe(true);
  });
});
