import type { Logger } from 'pino';
import { originOf, scrubText } from './scrub.ts';
import { sessionTag } from './session-tag.ts';

/**
 * Security events: one warn line each, `{ event, security: true, ...fields }`, so an alerting
 * pipeline can select `security=true` and group by `event`. Fields come from a fixed list of
 * names with primitive values: nothing free-form that could carry a token.
 */
export const SECURITY_EVENTS = [
  /** A refresh token this replica never wrote turned up; the token set was cleared. */
  'refresh_token_reuse',
  /** The provider said invalid_grant on refresh; the session was ended. */
  'session_destroyed_invalid_grant',
  /** A session record or token set that cannot be read or opened; the session was ended. */
  'session_data_corrupt',
  /** Revocation at logout failed and will be retried / was given up / could not be attempted. */
  'revocation_failed',
  'revocation_abandoned',
  'revocation_skipped',
  /** A state-changing request without the CSRF header or from a foreign Origin. */
  'csrf_rejected',
  /** A signed cookie whose signature does not verify. */
  'tampered_cookie',
  /** A provider ended sessions through back-channel logout. */
  'backchannel_logout',
  /** A logout_token whose `jti` was already used. */
  'logout_token_replayed',
  /** Callback checks: state, provider and issuer (RFC 9207) mix-ups, rejected logins. */
  'state_mismatch',
  'provider_mixup',
  'issuer_mismatch',
  'login_rejected',
] as const;

export type SecurityEventName = (typeof SECURITY_EVENTS)[number];

/** Every field a security event may carry. */
export interface SecurityEventFields {
  /** Provider id from config. */
  provider?: string;
  /** A session tag (see sessionTag); a raw sid given here is replaced by its tag. */
  session?: string;
  /** A cookie's name (never its value). */
  cookie?: string;
  /** Short human text; scrubbed and cut to 200 characters. */
  reason?: string;
  method?: string;
  /** A bounded route label (`auth.logout`, a route prefix). */
  route?: string;
  /** The provider id that was expected (provider mix-up). */
  expected?: string;
  /** A request's Origin; logged without path or query. */
  origin?: string;
  oauthError?: string;
  attempt?: number;
  storedVer?: number;
  /** How many sessions an action ended. */
  sessions?: number;
  httpStatus?: number;
  /** The request had no `state` at all. */
  missing?: boolean;
  /** The refresh lock had been lost when the conflict was found. */
  lockLost?: boolean;
}

type FieldKind = 'string' | 'number' | 'boolean';

const FIELD_KINDS: { readonly [K in keyof Required<SecurityEventFields>]: FieldKind } = {
  provider: 'string',
  session: 'string',
  cookie: 'string',
  reason: 'string',
  method: 'string',
  route: 'string',
  expected: 'string',
  origin: 'string',
  oauthError: 'string',
  attempt: 'number',
  storedVer: 'number',
  sessions: 'number',
  httpStatus: 'number',
  missing: 'boolean',
  lockLost: 'boolean',
};

const MAX_FIELD_TEXT = 200;
const SESSION_TAG_SHAPE = /^[0-9a-f]{12}$/;

export function securityEvent(logger: Pick<Logger, 'warn'>, name: SecurityEventName, fields: SecurityEventFields = {}): void {
  logger.warn({ event: name, security: true, ...allowedFields(fields) }, `security event: ${name}`);
}

/** Keeps only known field names with values of the declared kind; strings are made safe. */
function allowedFields(fields: SecurityEventFields): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(fields) as [keyof SecurityEventFields, unknown][]) {
    const kind = FIELD_KINDS[name];
    if (kind === undefined || typeof value !== kind) continue;
    kept[name] = typeof value === 'string' ? safeText(name, value) : (value as number | boolean);
  }
  return kept;
}

function safeText(name: keyof SecurityEventFields, value: string): string {
  if (name === 'session') return SESSION_TAG_SHAPE.test(value) ? value : sessionTag(value);
  if (name === 'origin') return originOf(value).slice(0, MAX_FIELD_TEXT);
  const scrubbed = scrubText(value);
  return scrubbed.length > MAX_FIELD_TEXT ? `${scrubbed.slice(0, MAX_FIELD_TEXT)}…` : scrubbed;
}
