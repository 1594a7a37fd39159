import { Cluster, type Redis } from 'ioredis';
import { sealedKid } from '../crypto/keyring.ts';
import type { RedisClient } from './redis-client.ts';

/**
 * How many stored token sets each key id still seals, for deciding when an old key can go
 * (`tokengate keys status`, the `tokengate_sealed_token_sets` gauge). SCAN with COUNT over the
 * token-set keys (`<prefix>tok:{*}`) of every master (Cluster: each master in turn), values read
 * in one pipeline per SCAN page, bounded in time: past `timeBudgetMs` the answer says it is
 * incomplete. The kid is the plaintext second part of a sealed value; nothing is opened.
 * A token set counts once for every kid any of its fields names.
 */

export interface SealedKidCount {
  /** kid → token sets with at least one field sealed under it. */
  counts: Map<string, number>;
  /** Token sets looked at. */
  scanned: number;
  /** Values that were not token sets in the sealed format. */
  unreadable: number;
  /** Masters scanned. */
  nodes: number;
  /** False when the time budget ran out before every master was scanned to the end. */
  complete: boolean;
}

export interface SealedKidScanOptions {
  keyPrefix: string;
  /** SCAN COUNT hint. Default 500. */
  count?: number;
  /** Default 10 s. */
  timeBudgetMs?: number;
}

const SEALED_FIELDS = ['accessToken', 'refreshToken', 'idToken'] as const;

export async function countSealedKids(client: RedisClient, options: SealedKidScanOptions): Promise<SealedKidCount> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  const result: SealedKidCount = { counts: new Map(), scanned: 0, unreadable: 0, nodes: nodes.length, complete: true };
  const deadline = performance.now() + (options.timeBudgetMs ?? 10_000);
  const match = `${escapeGlob(options.keyPrefix)}tok:{*}`;
  for (const node of nodes) {
    let cursor = '0';
    do {
      if (performance.now() > deadline) {
        result.complete = false;
        return result;
      }
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', options.count ?? 500);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.get(key);
      const replies = (await pipeline.exec()) ?? [];
      for (const [err, value] of replies) {
        if (err !== null || typeof value !== 'string') continue;
        tally(result, value);
      }
    } while (cursor !== '0');
  }
  return result;
}

function tally(result: SealedKidCount, text: string): void {
  result.scanned += 1;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    result.unreadable += 1;
    return;
  }
  const kids = new Set<string>();
  const sealedValues: unknown[] = SEALED_FIELDS.map((field) => value?.[field]);
  // Per-route access tokens (`resources`) are sealed values of the same set.
  const resources = value?.['resources'];
  if (resources !== null && typeof resources === 'object') for (const entry of Object.values(resources)) sealedValues.push((entry as Record<string, unknown> | null)?.['accessToken'], (entry as Record<string, unknown> | null)?.['refreshToken']);
  for (const sealed of sealedValues) {
    const kid = typeof sealed === 'string' ? sealedKid(sealed) : undefined;
    if (kid !== undefined) kids.add(kid);
  }
  if (kids.size === 0) result.unreadable += 1;
  for (const kid of kids) result.counts.set(kid, (result.counts.get(kid) ?? 0) + 1);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}
