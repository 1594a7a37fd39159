import type { Context } from 'koa';
import type { GatewayState } from '../http/state.ts';
import type { SessionEntry } from '../store/types.ts';
import { currentSession } from './current-session.ts';
import type { AuthDeps } from './deps.ts';
import { shownDeviceLabel } from './device-label.ts';
import type { SessionHandles } from './session-handle.ts';

/**
 * GET /auth/sessions: the logged-in user's sessions (every session of the same provider and
 * subject, through the user index that logout-everywhere uses), the current one first and
 * marked, then by last use. Never a token or a sid: each session is named by an opaque handle
 * (session-handle.ts) that POST /auth/sessions/<handle>/logout accepts.
 *
 * `lastUsedAt` comes from the store's TTL, not from a write per request: every request that
 * loads a session slides its TTL to `min(idleTimeout, absolute expiry - now)`, so the last use
 * is `now + ttl - idleTimeout`, to the millisecond. Within the last idle timeout before the
 * absolute expiry the TTL no longer moves, and the value is a lower bound (`absolute expiry -
 * idleTimeout`); a changed idle timeout shifts the estimate of sessions last used before the
 * change. Never before `createdAt`, never after now.
 *
 * At most `MAX_LISTED` sessions are listed (Tokengate does not cap sessions per user);
 * `truncated: true` says there were more. The current session is always among them.
 */

export const MAX_LISTED = 100;

export interface ListedSession {
  handle: string;
  current: boolean;
  device: string;
  provider: string;
  createdAt: string;
  lastUsedAt: string;
}

export interface SessionList {
  sessions: ListedSession[];
  truncated: boolean;
}

export function listSessionsHandler(deps: Pick<AuthDeps, 'cookies' | 'store' | 'config' | 'now'>, handles: SessionHandles) {
  return async function listSessions(ctx: Context & { state: Partial<GatewayState> }): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const { sid, session } = currentSession(ctx, deps);
    const page = await deps.store.describeUserSessions(session.provider, session.sub, MAX_LISTED);
    const now = deps.now();
    const others = page.sessions.filter((entry) => entry.session.sid !== sid);
    // The current session was loaded (and its TTL slid) by this very request.
    const entries = [{ session, lastUsedAt: now }, ...others.map((entry) => ({ session: entry.session, lastUsedAt: lastUsedAt(entry, now, deps.config.session.idleTimeout) }))];
    const sorted = [entries[0]!, ...entries.slice(1).sort((a, b) => b.lastUsedAt - a.lastUsedAt)].slice(0, MAX_LISTED);
    const body: SessionList = {
      sessions: sorted.map((entry) => ({
        handle: handles.of(entry.session.sid),
        current: entry.session.sid === sid,
        device: shownDeviceLabel(entry.session.device),
        provider: entry.session.provider,
        createdAt: isoTime(entry.session.createdAt),
        lastUsedAt: isoTime(entry.lastUsedAt),
      })),
      truncated: page.truncated || entries.length > MAX_LISTED,
    };
    ctx.body = body;
  };
}

/** The last load or touch of a session, from its remaining TTL (see above for the precision). */
export function lastUsedAt(entry: SessionEntry, now: number, idleTimeoutMs: number): number {
  const estimate = now + entry.ttlMs - idleTimeoutMs;
  return Math.min(now, Math.max(entry.session.createdAt, estimate));
}

function isoTime(epochMs: number): string {
  // A stored value is input too: anything a Date cannot hold reads as the epoch.
  return new Date(Number.isFinite(epochMs) && Math.abs(epochMs) <= 8.64e15 ? epochMs : 0).toISOString();
}
