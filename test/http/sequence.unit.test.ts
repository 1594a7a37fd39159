import type { Context, Middleware } from 'koa';
import { describe, expect, it } from 'vitest';
import { sequence } from '../../src/http/sequence.ts';

describe('a sequence of middleware', () => {
  const ctx = {} as Context;

  it('runs the steps in order, around the next middleware, and unwinds in reverse', async () => {
    const seen: string[] = [];
    const step = (name: string): Middleware => async (_ctx, next) => {
      seen.push(`${name} in`);
      await next();
      seen.push(`${name} out`);
    };
    await sequence([step('a'), step('b')])(ctx, async () => {
      seen.push('next');
    });
    expect(seen).toEqual(['a in', 'b in', 'next', 'b out', 'a out']);
  });

  it('stops where a step does not call next, and passes a step\'s error up', async () => {
    let reached = false;
    await sequence([async () => undefined])(ctx, async () => {
      reached = true;
    });
    expect(reached).toBe(false);
    const failing = sequence([async (_ctx, next) => next(), async () => Promise.reject(new Error('refused'))]);
    await expect(failing(ctx, async () => undefined)).rejects.toThrow('refused');
  });

  it('is just next when empty', async () => {
    let reached = false;
    await sequence([])(ctx, async () => {
      reached = true;
    });
    expect(reached).toBe(true);
  });
});
