import type { IncomingMessage } from 'node:http';
import { securityEvent } from '../observability/index.ts';
import type { SessionRecord, StoredTokenSet } from '../store/types.ts';
import type { SessionLoaderOptions } from './load-session.ts';
import { lookupSession, reportCorruptSession } from './lookup-session.ts';

/**
 * The session of a raw request, where no Koa context exists (a WebSocket upgrade): the sid from
 * the request's Cookie header (the same signature check as `loadSession`), then the session and
 * its token set in one store call (lookupSession). Null without a usable session; a forged
 * cookie logs the same `tampered_cookie` security event. Nothing is written: there is no
 * response to clear a stale cookie on or to re-sign it after a key rotation (the next HTTP
 * request does both).
 */

export interface RequestSessionBundle {
  sid: string;
  session: SessionRecord;
  tokens: StoredTokenSet | null;
}

export function sessionFromRequest(options: SessionLoaderOptions): (req: IncomingMessage) => Promise<RequestSessionBundle | null> {
  const { cookie } = options;
  return async function readRequestSession(req) {
    const found = await lookupSession(cookie.readHeader(req.headers.cookie), options);
    if (found.status === 'forged') securityEvent(options.logger, 'tampered_cookie', { cookie: cookie.name });
    if (found.status === 'corrupt') reportCorruptSession(options.logger, found.sid);
    return found.status === 'loaded' ? { sid: found.sid, session: found.session, tokens: found.tokens } : null;
  };
}
