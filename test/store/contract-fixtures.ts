import { randomBytes } from 'node:crypto';
import type { SessionRecord, Store, StoredTokenSet } from '../../src/store/types.ts';

/** Shared pieces of the Store contract suite: its options, context and record factories. */

export interface StoreContractOptions {
  /** Lets `ms` of store time pass. */
  fastForward(ms: number): Promise<void>;
  /** The store's clock, epoch ms. */
  now(): number;
  /**
   * Multiplies every TTL and wait in the timing tests. A fake clock needs 1; real Redis, where a
   * busy machine can stall a test for a moment, gets a wider margin.
   */
  timeScale?: number;
}

/** A duration of the contract's timing tests, scaled for the store under test. */
export function scaled(options: StoreContractOptions, ms: number): number {
  return ms * (options.timeScale ?? 1);
}

export type MakeStore = () => Store | Promise<Store>;

export interface ContractContext {
  store(): Store;
  options: StoreContractOptions;
}

export function newSid(): string {
  return randomBytes(18).toString('base64url');
}

export function makeSession(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid: newSid(),
    provider: 'op',
    sub: `user-${randomBytes(6).toString('hex')}`,
    claims: { name: 'Ada', email: 'ada@example.test' },
    createdAt: now,
    absoluteExpiresAt: now + 60_000,
    ...overrides,
  };
}

/** Token fields are opaque to the store; these stand in for sealed values. */
export function makeTokens(label: string, now: number): Omit<StoredTokenSet, 'ver'> {
  return {
    accessToken: `v1.k.iv.access-${label}`,
    refreshToken: `v1.k.iv.refresh-${label}`,
    idToken: `v1.k.iv.id-${label}`,
    expiresAt: now + 3_600_000,
    obtainedAt: now,
    scope: 'openid profile',
    tokenType: 'Bearer',
  };
}

