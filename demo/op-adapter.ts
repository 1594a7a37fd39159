import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/**
 * The OpenID Provider's storage: one in-memory store per provider instance (the library's own
 * memory adapter caps at 1,000 entries, which a storm benchmark overruns). Entries expire at
 * their `expiresIn`; expired entries are invisible at once and swept every few hundred writes,
 * so a long benchmark does not grow without bound.
 */

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

/** Models whose artifacts belong to a grant (revoked together by `revokeByGrantId`). */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const SWEEP_EVERY = 500;

export interface MemoryStore {
  readonly adapterFactory: AdapterFactory;
  /** Number of live entries (for tests of the fixture itself). */
  size(): number;
}

export function createMemoryStore(now: () => number = Date.now): MemoryStore {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  let writes = 0;

  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      remove(key);
      return undefined;
    }
    return entry.payload;
  };

  const remove = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    const { grantId, uid, userCode } = entry.payload;
    if (typeof grantId === 'string') byGrant.get(grantId)?.delete(key);
    if (typeof uid === 'string' && byUid.get(uid) === key) byUid.delete(uid);
    if (typeof userCode === 'string' && byUserCode.get(userCode) === key) byUserCode.delete(userCode);
  };

  const sweep = (): void => {
    const at = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= at) remove(key);
    for (const [grantId, keys] of byGrant) if (keys.size === 0) byGrant.delete(grantId);
  };

  const adapterFor = (model: string): Adapter => {
    const keyOf = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        remove(key);
        const expiresAt = typeof expiresIn === 'number' ? now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        entries.set(key, { payload, expiresAt });
        if (GRANTABLE.has(model) && typeof payload.grantId === 'string') {
          const keys = byGrant.get(payload.grantId) ?? new Set<string>();
          keys.add(key);
          byGrant.set(payload.grantId, keys);
        }
        if (model === 'Session' && typeof payload.uid === 'string') byUid.set(payload.uid, key);
        if (typeof payload.userCode === 'string') byUserCode.set(payload.userCode, key);
        writes += 1;
        if (writes % SWEEP_EVERY === 0) sweep();
      },
      async find(id) {
        return live(keyOf(id));
      },
      async findByUid(uid) {
        const key = byUid.get(uid);
        return key === undefined ? undefined : live(key);
      },
      async findByUserCode(userCode) {
        const key = byUserCode.get(userCode);
        return key === undefined ? undefined : live(key);
      },
      async consume(id) {
        const payload = live(keyOf(id));
        if (payload !== undefined) payload.consumed = Math.floor(now() / 1000);
      },
      async destroy(id) {
        remove(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        const keys = byGrant.get(grantId);
        if (keys === undefined) return;
        for (const key of [...keys]) if (key.startsWith(`${model}:`)) remove(key);
        if (keys.size === 0) byGrant.delete(grantId);
      },
    };
  };

  return {
    adapterFactory: adapterFor,
    size: () => entries.size,
  };
}
