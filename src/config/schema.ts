import { z } from 'zod';
import { decodeKeyMaterial } from '../crypto/keyring.ts';
import { hideSecrets } from '../secret.ts';
import { crossFieldRules } from './cross-field.ts';
import { providerSchema } from './provider-schema.ts';
import { routeSchema } from './route-schema.ts';
import { addressOrBlock, duration, headerPattern, httpOrigin, httpUrl, listener, secret } from './schema-fields.ts';
import { storeSchema } from './store-schema.ts';
import { isBareOrigin, isLoopbackHost } from './url-rules.ts';

export { providerSchema } from './provider-schema.ts';
export { isTlsOrLoopback } from './url-rules.ts';

/**
 * The one schema of Tokengate's configuration. `Config` is inferred from it; nothing else
 * declares the shape. Durations are written as `30s`, `5m`, `12h` (or a number of seconds) and
 * come out as milliseconds. Secrets arrive here already resolved from env or files (see load.ts).
 * The parts that hold secrets print by an allowlist (src/secret.ts): the keys, each provider, the
 * Redis connection and forward-auth show their other fields, and '[present]' for the secrets.
 */

/** The forward-auth fields that may be printed; `sharedSecret` prints as '[present]'. */
export const FORWARD_AUTH_PRINTABLE = ['enabled', 'listen', 'secretHeader', 'path', 'csrf', 'page'];

const encryptionKey = z
  .object({
    kid: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'kid must be 1-32 characters of [A-Za-z0-9_-]'),
    key: secret.superRefine((key, ctx) => {
      const material = decodeKeyMaterial(key);
      if (typeof material === 'string') ctx.addIssue({ code: 'custom', message: material });
    }),
  })
  .strict()
  .transform((spec) => hideSecrets(spec, ['kid']));

const configFields = z
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
      .strict()
      .transform((keys) => hideSecrets(keys, ['encryption'])),
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
      })
      .transform((fa) => hideSecrets(fa, FORWARD_AUTH_PRINTABLE)),
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
  .strict();

/** The fields, checked one by one; configSchema adds the rules across them. */
export type ConfigFields = z.output<typeof configFields>;

export const configSchema = configFields.superRefine(crossFieldRules);

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config['providers'][number];
export type RouteConfig = Config['routes'][number];
export type RedisConfig = Extract<Config['store'], { type: 'redis' }>['redis'];
