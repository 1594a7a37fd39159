import { isIP } from 'node:net';
import { z } from 'zod';
import { sameOriginPath } from '../auth/return-to.ts';
import { decodeKeyMaterial } from '../crypto/keyring.ts';
import { privateKeyProblem } from '../providers/private-key.ts';
import { parseDuration } from './duration.ts';

/**
 * The one schema of Tokengate's configuration. `Config` is inferred from it; nothing else
 * declares the shape. Durations are written as `30s`, `5m`, `12h` (or a number of seconds) and
 * come out as milliseconds. Secrets arrive here already resolved from env or files (see load.ts).
 */

const duration = (fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as "30s", "5m" or "12h", got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    });

const secret = z.string().min(1, 'must not be empty');

const port = z.number().int().min(0).max(65535);

const listener = (defaultPort: number) =>
  z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(defaultPort),
    })
    .strict();

/** An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
const addressOrBlock = z.string().refine((value) => {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}, 'expected an IP address or a CIDR block such as 10.0.0.0/8');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** An http(s) URL reduced to its origin. Zod keeps going after a failed check, so guard the parse. */
const httpOrigin = httpUrl.transform((value) => (URL.canParse(value) ? new URL(value).origin : value));

const encryptionKey = z
  .object({
    kid: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'kid must be 1-32 characters of [A-Za-z0-9_-]'),
    key: secret.superRefine((key, ctx) => {
      const material = decodeKeyMaterial(key);
      if (typeof material === 'string') ctx.addIssue({ code: 'custom', message: material });
    }),
  })
  .strict();

const providerId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'provider id must be 1-32 lowercase letters, digits, _ or -');

const providerBase = {
  id: providerId,
  clientId: z.string().min(1),
  clientSecret: secret,
  scopes: z.array(z.string().min(1)).optional(),
  /** Extra parameters for the authorization request (e.g. `prompt`, `hd`). */
  authorizationParams: z.record(z.string(), z.string()).default({}),
  /** Display name for login pages and logs. */
  name: z.string().optional(),
  timeout: duration('10s'),
};

/** Plain-http URLs outside loopback need this set (RFC 9700 2.6); the gateway warns at start. */
const allowInsecure = z.boolean().default(false);
/** Audiences besides the client id that an ID token may name (OIDC Core 3.1.3.7 step 3). */
const trustedAudiences = z.array(z.string().min(1)).default([]);

const oidcProvider = z
  .object({
    ...providerBase,
    type: z.literal('oidc'),
    issuer: httpUrl,
    /** With private_key_jwt no client secret is needed. */
    clientSecret: secret.optional(),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
    /** private_key_jwt: the client's private key, PEM or JWK (JSON text); usually `{ file }` or `{ env }`. */
    privateKey: secret
      .superRefine((key, ctx) => {
        const problem = privateKeyProblem(key);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** private_key_jwt: the assertion's `aud`, the issuer (default) or the token endpoint from discovery (older providers). */
    clientAssertionAudience: z.enum(['issuer', 'token_endpoint']).default('issuer'),
    /** Where the provider sends the browser after RP-initiated logout; a path on this gateway. */
    postLogoutRedirectPath: z.string().startsWith('/').default('/'),
    trustedAudiences,
    /** Accept back-channel logout tokens without `exp` (at most 2 minutes old), for providers known to omit it. */
    acceptLogoutTokenWithoutExp: z.boolean().default(false),
    /**
     * Pushed authorization requests (RFC 9126): `auto` pushes when the provider's metadata names a
     * `pushed_authorization_request_endpoint`, `required` refuses logins when it does not, `off`
     * never pushes (and refuses logins when the metadata says `require_pushed_authorization_requests`).
     */
    par: z.enum(['auto', 'required', 'off']).default('auto'),
    allowInsecure,
  })
  .strict()
  .superRefine((provider, ctx) => {
    if (provider.tokenEndpointAuthMethod === 'private_key_jwt' && provider.privateKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['privateKey'], message: 'private_key_jwt needs privateKey (PEM or JWK)' });
    }
    if (provider.tokenEndpointAuthMethod !== 'private_key_jwt' && provider.clientSecret === undefined) {
      // Reported like any missing field: "required", naming the environment variables (messages.ts).
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `${provider.tokenEndpointAuthMethod} needs clientSecret`, params: { missing: true } });
    }
  });

const googleProvider = z.object({ ...providerBase, type: z.literal('google'), trustedAudiences }).strict();
const githubProvider = z
  .object({
    ...providerBase,
    type: z.literal('github'),
    /** GitHub Enterprise Server base, e.g. https://github.example.com. */
    baseUrl: httpUrl.default('https://github.com'),
    apiUrl: httpUrl.default('https://api.github.com'),
    allowInsecure,
  })
  .strict();
const discordProvider = z.object({ ...providerBase, type: z.literal('discord') }).strict();

export const providerSchema = z.discriminatedUnion('type', [oidcProvider, googleProvider, githubProvider, discordProvider]);

/** A header name to strip, or a prefix ending in `*` (`x-internal-*`); compared in lower case. */
const headerPattern = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'+.^_`|~-]+\*?$/, 'a header name, or a prefix ending in *')
  .transform((name) => name.toLowerCase());

const routeSchema = z
  .object({
    /** Path prefix, e.g. `/api`. Matches `/api` and `/api/...`, never `/apiary`. */
    prefix: z
      .string()
      .regex(/^\/[^?#]*$/, 'prefix must start with / and contain no ? or #')
      .refine((prefix) => prefix !== '/auth' && !prefix.startsWith('/auth/'), 'the /auth prefix belongs to Tokengate'),
    upstream: httpUrl,
    /** Which provider's token to attach; defaults to the session's own provider. */
    provider: providerId.optional(),
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

const redisNode = z.object({ host: z.string().min(1), port }).strict();

const redisSchema = z
  .object({
    /** Standalone Redis: `redis://[user:pass@]host:port/db` or `rediss://...`. */
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .superRefine((value, ctx) => {
        const problem = redisDbProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    sentinel: z
      .object({
        sentinels: z.array(redisNode).min(1),
        name: z.string().min(1),
        sentinelPassword: secret.optional(),
      })
      .strict()
      .optional(),
    cluster: z.object({ nodes: z.array(redisNode).min(1) }).strict().optional(),
    username: z.string().optional(),
    password: secret.optional(),
    tls: z.boolean().default(false),
    keyPrefix: z.string().regex(/^[A-Za-z0-9:_-]*$/, 'keyPrefix may hold letters, digits, :, _ and -').default('tg:'),
    /** Every store call fails with STORE_UNAVAILABLE after this long. */
    commandTimeout: duration('1s'),
    connectTimeout: duration('1s'),
    /** Commands queued while disconnected; past this they fail at once. */
    maxOfflineQueue: z.number().int().min(0).default(1000),
    /** Recently used sessions kept in each replica's memory, invalidated through Redis pub/sub. */
    nearCache: z
      .object({
        enabled: z.boolean().default(true),
        /** Sessions kept per replica (least recently used go first). */
        maxEntries: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((redis, ctx) => {
    const modes = [redis.url, redis.sentinel, redis.cluster].filter((mode) => mode !== undefined).length;
    if (modes !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of url, sentinel or cluster' });
  });

const storeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory') }).strict(),
  z.object({ type: z.literal('redis'), redis: redisSchema }).strict(),
]);

export const configSchema = z
  .object({
    /** The origin browsers use to reach this gateway, e.g. https://app.example.com. */
    publicOrigin: httpUrl
      .refine((value) => !URL.canParse(value) || isBareOrigin(new URL(value)), 'must be an origin only (scheme://host[:port]), without a path, query or fragment: Tokengate serves /auth/* at the root of it')
      .pipe(httpOrigin)
      .refine((origin) => {
        const url = URL.canParse(origin) ? new URL(origin) : undefined;
        return url?.protocol !== 'http:' || isLoopbackHost(url.hostname);
      }, 'plain http is allowed only on loopback (localhost, 127.0.0.1, [::1])'),
    /**
     * Hostnames served as they are besides publicOrigin's: a page navigation on any other host is
     * redirected to publicOrigin (see http/canonical-origin.ts). For a proxy in front that sends
     * an internal name as Host and no X-Forwarded-Host.
     */
    trustedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, 'a hostname without port, e.g. tokengate.internal')).default([]),
    listen: listener(8080).prefault({}),
    /** Operations listener: /metrics, /healthz, /readyz. */
    ops: listener(9464).prefault({}),
    keys: z
      .object({
        /** AES-256-GCM keys for sealing tokens. The first seals; every key opens. */
        encryption: z.array(encryptionKey).min(1, 'at least one encryption key is required'),
        /** Session-cookie signing keys. The first signs; every key verifies. */
        cookie: z.array(secret.min(32, 'cookie keys must be at least 32 characters')).min(1, 'at least one cookie key is required'),
      },
      { error: (issue) => (issue.input === undefined ? 'required: set keys.encryption and keys.cookie, or TOKENGATE_ENCRYPTION_KEYS and TOKENGATE_COOKIE_KEYS' : undefined) },
      )
      .strict(),
    store: storeSchema.prefault({ type: 'memory' }),
    session: z
      .object({
        cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default('tg_session'),
        idleTimeout: duration('30m'),
        absoluteTimeout: duration('12h'),
        loginTimeout: duration('10m'),
      })
      .strict()
      .refine((session) => session.absoluteTimeout >= session.idleTimeout, {
        path: ['absoluteTimeout'],
        message: 'must not be shorter than idleTimeout',
      })
      .prefault({}),
    providers: z.array(providerSchema).min(1, 'configure at least one provider'),
    tokens: z
      .object({
        refreshBuffer: duration('5m'),
        lockLease: duration('10s'),
        /**
         * How long a request that needs a new token (expired, or within `expiryMargin`) waits for
         * the refresh (its own process's or another replica's) before 503 TOKEN_SERVICE_UNAVAILABLE.
         * The refresh itself goes on in the background.
         */
        refreshWait: duration('3s'),
        /** Inside the refresh window a token with more than this left is used at once while it is refreshed in the background. */
        expiryMargin: duration('10s'),
        /**
         * How long one refresh call, once sent, waits for the provider's answer (connecting and
         * sending keep the provider's timeout). The call is never abandoned earlier: its answer may
         * carry the only copy of a rotated refresh token.
         */
        refreshTimeout: duration('2m'),
        /** After a refresh forced by an upstream 401, further 401s of the same token get no new refresh for this long. */
        forcedRefreshCooldown: duration('30s'),
      })
      .strict()
      .prefault({}),
    routes: z.array(routeSchema).default([]),
    /** Settings of the proxy itself, for every route. */
    proxy: z
      .object({
        /** More client headers never to forward, on top of the built-in list (see README). */
        stripHeaders: z.array(headerPattern).default([]),
        /** A request body being buffered for replay that sends nothing for this long answers 408 REQUEST_TIMEOUT. */
        bodyIdleTimeout: duration('10s'),
        /**
         * Bytes of request bodies buffered for replay, across all requests of the process. Past it,
         * bodies are streamed upstream without replay (never refused).
         */
        replayBudget: z.number().int().min(0).default(32 * 1024 * 1024),
        /** Open WebSockets per session (per process); one more handshake answers 429 TOO_MANY_WEBSOCKETS. */
        maxWebSocketsPerSession: z.number().int().min(1).default(16),
        /** How often the sessions of open WebSockets are checked (idle timeout, an end not heard of); 1 store read per session. */
        webSocketSessionCheck: duration('30s').pipe(z.number().min(100, 'must be at least 100 ms')),
      })
      .strict()
      .prefault({}),
    csrf: z
      .object({
        header: z.string().regex(/^[A-Za-z0-9-]+$/).default('x-csrf'),
        value: z.string().min(1).default('1'),
        /** Origins allowed on state-changing requests; the public origin is always allowed. */
        allowedOrigins: z.array(httpOrigin).default([]),
      })
      .strict()
      .prefault({}),
    forwardAuth: z
      .object({
        enabled: z.boolean().default(false),
        /** Its own listener, reachable by the ingress only. */
        listen: listener(8081).optional(),
        /** Or a shared secret header that the ingress adds, on the main listener. */
        sharedSecret: secret.optional(),
        secretHeader: z.string().default('x-tokengate-forward-auth'),
        path: z.string().startsWith('/').default('/auth/verify'),
        /** The CSRF rule for the original request, as for proxied routes: `all` (default) or `unsafe`. */
        csrf: z.enum(['all', 'unsafe']).default('all'),
        /** Original GET/HEAD page navigations (`Sec-Fetch-Mode: navigate`) need no CSRF header. */
        page: z.boolean().default(true),
      })
      .strict()
      .prefault({})
      .superRefine((fa, ctx) => {
        if (fa.enabled && !fa.listen && !fa.sharedSecret) {
          ctx.addIssue({ code: 'custom', message: 'forward-auth needs its own listener or a sharedSecret, so browsers cannot reach it' });
        }
      }),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        grace: duration('25s'),
        /**
         * After SIGTERM, how long the listeners keep accepting (readiness already off, every
         * response `Connection: close`) before they stop: time for load balancers to notice.
         * Part of the grace period (a longer one is cut to the grace period).
         */
        drainDelay: duration('1s'),
      })
      .strict()
      .prefault({}),
    /**
     * Pending logins: started at /auth/login and not yet finished at the callback (each holds a
     * login transaction for session.loginTimeout). Past a limit, /auth/login answers 429
     * TOO_MANY_PENDING_LOGINS. Counted in the store, so the limits hold across replicas.
     */
    login: z
      .object({
        /** From one client address (see server.trustedProxies). */
        maxPendingPerAddress: z.number().int().min(1).default(50),
        /** From everyone. */
        maxPending: z.number().int().min(1).default(20_000),
      })
      .strict()
      .prefault({}),
    /** Limits of the HTTP listeners (main and forward-auth), per process. */
    server: z
      .object({
        /** A client must send the whole request head within this; else 408 and the connection closes. */
        headersTimeout: duration('10s'),
        /** A client must send the whole request (head and body) within this; else 408. */
        requestTimeout: duration('60s'),
        /** An idle keep-alive connection is closed after this. */
        keepAliveTimeout: duration('5s'),
        /** Open connections; past it a new connection is closed at once. */
        maxConnections: z.number().int().min(1).default(10_000),
        /**
         * Proxies whose X-Forwarded-For is believed (addresses or CIDR blocks). The client address
         * (pending-login limits) is the socket's peer, or, when that peer is one of these, the
         * nearest X-Forwarded-For entry that is not.
         */
        trustedProxies: z.array(addressOrBlock).default([]),
      })
      .strict()
      .refine((server) => server.headersTimeout > 0, { path: ['headersTimeout'], message: 'must be more than 0' })
      .refine((server) => server.requestTimeout >= server.headersTimeout, { path: ['requestTimeout'], message: 'must not be shorter than headersTimeout' })
      .prefault({}),
    workers: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const ids = new Set<string>();
    config.providers.forEach((provider, index) => {
      if (ids.has(provider.id)) ctx.addIssue({ code: 'custom', path: ['providers', index, 'id'], message: `duplicate provider id "${provider.id}"` });
      ids.add(provider.id);
    });
    const prefixes = new Set<string>();
    config.routes.forEach((route, index) => {
      if (route.provider && !ids.has(route.provider)) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'provider'], message: `unknown provider "${route.provider}"` });
      }
      if (route.onUnauthenticated === 'login' && route.auth !== 'required') {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'onUnauthenticated'], message: 'login applies to auth: required routes only' });
      }
      if (prefixes.has(route.prefix)) ctx.addIssue({ code: 'custom', path: ['routes', index, 'prefix'], message: `duplicate route prefix "${route.prefix}"` });
      prefixes.add(route.prefix);
    });
    const requireTls = (url: string, insecureAllowed: boolean, path: (string | number)[]) => {
      if (!insecureAllowed && !isTlsOrLoopback(url)) {
        ctx.addIssue({ code: 'custom', path, message: 'must use https outside loopback (or set allowInsecure: true)' });
      }
    };
    config.providers.forEach((provider, index) => {
      if (provider.type === 'oidc') requireTls(provider.issuer, provider.allowInsecure, ['providers', index, 'issuer']);
      if (provider.type === 'github') {
        requireTls(provider.baseUrl, provider.allowInsecure, ['providers', index, 'baseUrl']);
        requireTls(provider.apiUrl, provider.allowInsecure, ['providers', index, 'apiUrl']);
      }
    });
    config.routes.forEach((route, index) => requireTls(route.upstream, route.allowInsecure === true, ['routes', index, 'upstream']));
    const originIsValid = URL.canParse(config.publicOrigin) && isBareOrigin(new URL(config.publicOrigin));
    config.providers.forEach((provider, index) => {
      // Judged against a valid publicOrigin only: a bad one is reported once, with no follow-on.
      if (provider.type === 'oidc' && originIsValid && sameOriginPath(provider.postLogoutRedirectPath, config.publicOrigin) === undefined) {
        ctx.addIssue({ code: 'custom', path: ['providers', index, 'postLogoutRedirectPath'], message: 'must be a path on this gateway (it may not resolve to //host or hold \\, whitespace or control characters)' });
      }
    });
    if (config.workers !== undefined && config.workers > 1 && config.store.type === 'memory') {
      ctx.addIssue({ code: 'custom', path: ['workers'], message: 'the memory store lives in one process; use store.type redis for more than one worker' });
    }
  });

/** https, or http to a loopback host (127.0.0.0/8, ::1, localhost). Not a URL: false. */
export function isTlsOrLoopback(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname));
}

/** `https://app.example.com` or `https://app.example.com/`: nothing after the host but a slash. */
function isBareOrigin(url: URL): boolean {
  return url.pathname === '/' && url.search === '' && url.hash === '' && !/[?#]$/.test(url.href);
}

/** A Redis URL's database: `/`, nothing, or `/<index>` with an index from 0 to 65535. */
export function redisDbProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return 'must be a redis:// or rediss:// URL';
  const path = new URL(value).pathname;
  if (path === '' || path === '/') return undefined;
  const index = /^\/(\d{1,5})$/.exec(path)?.[1];
  if (index === undefined || Number(index) > 65535) return `the database index must be a whole number (0-15 on a default Redis server), got "${path.slice(1, 30)}"`;
  return undefined;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config['providers'][number];
export type RouteConfig = Config['routes'][number];
export type RedisConfig = Extract<Config['store'], { type: 'redis' }>['redis'];
