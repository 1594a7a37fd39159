import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { sessionTag } from '../observability/index.ts';
import type { Store } from '../store/types.ts';
import { Tunnel } from './tunnel.ts';

/**
 * The open WebSocket tunnels of this process by session id, so that they end with their session:
 *
 * - `sessionEnded(sid)`: this process ended the session (logout, logout everywhere, back-channel
 *   logout, a listed session ended, a refresh that found the grant revoked; see
 *   observeSessionEnds): its tunnels close at once.
 * - `invalidated(sid)`: another replica wrote the session (the near cache's invalidation
 *   channel). A refresh writes too, so the store is asked first: only a session without a token
 *   set is gone. A store error closes nothing (a transient failure never ends a session).
 * - every `checkIntervalMs` while tunnels are open, each of their sessions is checked the same
 *   way (idle timeout, and any end this process did not hear of), one store call per session.
 * - once when a tunnel opens (one store read per handshake): the session may have ended between
 *   the handshake's session check and the upstream's answer.
 * - a tunnel's own deadline (`closeAt`: the absolute expiry, or its token's expiry where the
 *   route asks) closes it by a timer.
 *
 * Each closes with 1008 and a short reason (see tunnel.ts).
 */

export interface TunnelsOptions {
  store: Pick<Store, 'getTokens'>;
  /** proxy.webSocketSessionCheck. */
  checkIntervalMs: number;
  now: () => number;
  logger?: Logger | undefined;
  /** How long the upstream may take to finish the frame it is sending when a tunnel closes. Default 1 s. */
  finishFrameMs?: number;
}

export const SESSION_ENDED = 'session ended';
export const TOKEN_EXPIRED = 'token expired';

/** setTimeout's longest delay; later deadlines are left to the periodic check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Tunnels {
  readonly #options: TunnelsOptions;
  readonly #bySid = new Map<string, Set<Tunnel>>();
  #sweep: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(options: TunnelsOptions) {
    this.#options = options;
  }

  /** Registers an open tunnel of `sid`; it closes itself with `reason` at `closeAt` (epoch ms). */
  open(sid: string, client: Socket, upstream: Socket, deadline?: { at: number; reason: string }): Tunnel {
    const tunnel = new Tunnel(client, upstream, this.#options.finishFrameMs ?? 1000);
    let set = this.#bySid.get(sid);
    if (set === undefined) this.#bySid.set(sid, (set = new Set()));
    set.add(tunnel);
    let timer: NodeJS.Timeout | undefined;
    if (deadline !== undefined) {
      const delay = Math.max(0, deadline.at - this.#options.now());
      if (delay <= MAX_TIMER_MS) {
        timer = setTimeout(() => tunnel.close(deadline.reason), delay);
        timer.unref();
      }
    }
    client.once('close', () => {
      clearTimeout(timer);
      this.#forget(sid, tunnel);
    });
    this.#startSweep();
    // A session that ended after the handshake's session check, before the upstream's 101.
    void this.#check(sid);
    return tunnel;
  }

  /** How many tunnels of `sid` are open here. */
  count(sid: string): number {
    return this.#bySid.get(sid)?.size ?? 0;
  }

  sessionEnded(sid: string): void {
    const set = this.#bySid.get(sid);
    if (set === undefined) return;
    this.#options.logger?.info({ event: 'websocket_session_ended', session: sessionTag(sid), tunnels: set.size }, 'WebSockets closed: their session ended');
    for (const tunnel of set) tunnel.close(SESSION_ENDED);
  }

  invalidated(sid: string): void {
    if (this.#bySid.has(sid)) void this.#check(sid);
  }

  /** Stops the periodic check (the tunnels themselves are ended by the proxy's shutdown). */
  close(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  async #check(sid: string): Promise<void> {
    let gone: boolean;
    try {
      gone = (await this.#options.store.getTokens(sid)) === null;
    } catch {
      // Unavailable or unreadable: not known to be gone. The next check asks again.
      return;
    }
    if (gone) this.sessionEnded(sid);
  }

  #startSweep(): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = setInterval(() => void this.#checkAll(), this.#options.checkIntervalMs);
    this.#sweep.unref();
  }

  async #checkAll(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const sid of [...this.#bySid.keys()]) await this.#check(sid);
    } finally {
      this.#sweeping = false;
    }
  }

  #forget(sid: string, tunnel: Tunnel): void {
    const set = this.#bySid.get(sid);
    if (set === undefined) return;
    set.delete(tunnel);
    if (set.size > 0) return;
    this.#bySid.delete(sid);
    if (this.#bySid.size === 0) this.close();
  }
}

/**
 * The store, telling `onEnded` of every session this process ends through it: destroySession,
 * destroyUserSessions (each sid), and deleteTokens (a session without tokens can carry nothing).
 */
export function observeSessionEnds(store: Store, onEnded: (sid: string) => void): Store {
  return {
    ...store,
    async destroySession(sid) {
      const ended = await store.destroySession(sid);
      onEnded(sid);
      return ended;
    },
    async destroyUserSessions(provider, sub) {
      const sids = await store.destroyUserSessions(provider, sub);
      for (const sid of sids) onEnded(sid);
      return sids;
    },
    async deleteTokens(sid, expectedVer) {
      const deleted = await store.deleteTokens(sid, expectedVer);
      if (deleted) onEnded(sid);
      return deleted;
    },
  };
}
