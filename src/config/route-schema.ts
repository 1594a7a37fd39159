import { z } from 'zod';
import { providerId } from './provider-schema.ts';
import { duration, headerPattern, httpUrl } from './schema-fields.ts';

/** A resource indicator (RFC 8707 2): an absolute URI, no fragment; no `|` (it names a sealed field). */
const resourceIndicator = z
  .string()
  .refine((value) => URL.canParse(value) && !value.includes('#'), 'must be an absolute URI without a fragment')
  .refine((value) => !/[|\s]/.test(value), 'must not contain | or whitespace');

/** An RFC 8693 audience: a URI or a logical name (a client id at Keycloak), no `|` or whitespace. */
const tokenAudience = z.string().regex(/^[^|\s]{1,512}$/, 'a URI or name without | or whitespace');

/** The `routes` part of the configuration schema (see schema.ts). */

export const routeSchema = z
  .object({
    /** Path prefix, e.g. `/api`. Matches `/api` and `/api/...`, never `/apiary`. */
    prefix: z
      .string()
      .regex(/^\/[^?#]*$/, 'prefix must start with / and contain no ? or #')
      .refine((prefix) => prefix !== '/auth' && !prefix.startsWith('/auth/'), 'the /auth prefix belongs to Tokengate'),
    upstream: httpUrl,
    /**
     * Which provider's token to attach; defaults to the session's own provider. Another provider
     * than the session's: the token of that provider linked to the session (`/auth/link`), else
     * 403 PROVIDER_NOT_LINKED. With `resource` or `exchange`: the session must be from it.
     */
    provider: providerId.optional(),
    /**
     * RFC 8707: the API's resource indicator (an absolute URI without a fragment). The route gets
     * an access token of its own for this resource, obtained from the login's refresh token with
     * `resource=<uri>`; the login asks for every configured resource of its provider.
     */
    resource: resourceIndicator.optional(),
    /**
     * RFC 8693 token exchange: the route gets an access token for `audience` (and `scope`),
     * exchanged for the login's access token at the provider's token endpoint.
     */
    exchange: z.object({ audience: tokenAudience, scope: z.string().regex(/^[^\s"\\|]+( [^\s"\\|]+)*$/, 'space-separated scope tokens').optional() }).strict().optional(),
    auth: z.enum(['required', 'optional', 'public']).default('required'),
    /**
     * Without a session on an `auth: required` route: `error` answers 401 JSON; `login` sends a
     * page navigation (GET) to /auth/login?returnTo=<the path> and API calls still get the 401.
     * Absent means `error`.
     */
    onUnauthenticated: z.enum(['error', 'login']).optional(),
    stripPrefix: z.boolean().default(false),
    /** Upstream response timeout. */
    timeout: duration('30s'),
    /** Bodies up to this size are buffered so that a request can be replayed once after a 401. */
    replayBodyLimit: z.number().int().min(0).default(1024 * 1024),
    /**
     * WebSocket handshakes on this route. `{ maxTokenAge }`: allowed, and an open tunnel also
     * closes (1008) when the access token it was opened with expires, or `maxTokenAge` after the
     * handshake if that comes first (`0`: at the token's expiry only).
     */
    websocket: z.union([z.boolean(), z.object({ maxTokenAge: duration('0s') }).strict()]).default(true),
    /**
     * Which methods need the CSRF header: `all` (default; a cross-site GET must not reach an API
     * with the user's bearer) or `unsafe` (not GET, HEAD, OPTIONS). A foreign Origin is refused either way.
     */
    csrf: z.enum(['all', 'unsafe']).default('all'),
    /** The route serves pages: GET/HEAD navigations (`Sec-Fetch-Mode: navigate`) need no CSRF header. */
    page: z.boolean().default(false),
    /**
     * `private` (default): on routes that can carry a session (auth required/optional), responses
     * get `Cache-Control: private` (public and s-maxage removed) and `Vary: Cookie`. `upstream`:
     * the upstream's caching headers as they are.
     */
    cache: z.enum(['private', 'upstream']).default('private'),
    /** More client headers never to forward on this route, on top of `proxy.stripHeaders`. */
    stripHeaders: z.array(headerPattern).default([]),
    /** Plain http to a non-loopback upstream (RFC 9700 2.6); the gateway warns at start. */
    allowInsecure: z.boolean().optional(),
  })
  .strict();
