import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Koa, { type Middleware } from 'koa';
import { isAuthPath } from './auth/prefix.ts';
import { authRouteName, createAuthRouter } from './auth/router.ts';
import { Revoker } from './auth/revoker.ts';
import { liveConfig } from './config/live-config.ts';
import type { Config } from './config/schema.ts';
import { Keyring } from './crypto/keyring.ts';
import { createForwardAuthApp, forwardAuthOnMainListener, isVerifyPath } from './forward-auth/index.ts';
import { canonicalOrigin } from './http/canonical-origin.ts';
import { errorHandler } from './http/error-handler.ts';
import { securityHeaders } from './http/security-headers.ts';
import { accessLog, createLogger, createMetrics, createOpsApp, createReadiness, instrumentStore } from './observability/index.ts';
import { registerSealedKidsGauge } from './observability/sealed-kids-gauge.ts';
import { createProvider, createProviders } from './providers/index.ts';
import { createProxy } from './proxy/index.ts';
import { observeSessionEnds, Tunnels } from './proxy/tunnels.ts';
import { cookieKeys, createCookies } from './session/cookies.ts';
import { loadSession } from './session/load-session.ts';
import { sessionFromRequest } from './session/session-from-request.ts';
import { bindListener, closeServer, type ListenerSpec } from './runtime/listen.ts';
import { Listeners } from './runtime/listeners.ts';
import { shutDown } from './runtime/shutdown.ts';
import { createStore, openedCacheSize } from './store/index.ts';
import { insecureSettings } from './config/insecure.ts';
import type { UnreplicatedWrite } from './store/types.ts';
import { resourcesOf, TokenService } from './tokens/index.ts';
import type { Gateway, GatewayDeps, ListeningGateway } from './gateway.ts';

/**
 * The composition root: everything is built here from the validated config, nothing at import
 * time: the stores, providers and services, the middleware chain (it reads top to bottom in
 * `createGateway`), the ops app and the forward-auth listener's app, and the list of listeners
 * the gateway wants. The runtime (src/runtime/serve.ts) binds those listeners and never imports
 * this file: the command line hands it `createGateway` as a factory.
 */

export type { Gateway, GatewayDeps, ListeningGateway };

export function createGateway(configured: Config, deps: GatewayDeps = {}): Gateway {
  // The same config, with the secrets a key reload replaces read through accessors (live-config.ts).
  const live = liveConfig(configured);
  const config = live.config;
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger(config.logging);
  const metrics = deps.metrics ?? createMetrics();
  const ownsStore = deps.store === undefined;
  let storeConnectionError: Error | undefined;
  const onConnectionError = (err: Error) => {
    storeConnectionError = err;
    logger.warn({ event: 'store_connection_error', err }, 'store connection error');
  };
  // Open WebSockets end with their session: sessions this process ends (through the store below)
  // and, with Redis, those another replica ends (heard on the near cache's invalidation channel).
  let tunnels: Tunnels | undefined;
  // A token write the Redis replicas did not confirm may be lost by a failover (the refresh lock
  // stays parked; see Refresher); one written again after a failover lost it is logged too.
  const onUnreplicatedWrite = ({ outcome, op, wanted, acked }: UnreplicatedWrite) => {
    metrics.storeUnreplicatedWrites.inc({ op, outcome });
    // A master without replicas (counted only): one line per write would flood the log while it lasts.
    if (outcome === 'unconfirmed') logger.warn({ event: 'store_write_unconfirmed', op, replicas: wanted, acked }, 'token write not confirmed by the Redis replicas in time; a failover now may lose it');
    else if (outcome === 'restored') logger.warn({ event: 'store_write_restored', op }, 'token write lost by a Redis failover written again');
  };
  const rawStore =
    deps.store ??
    createStore(config.store, { now, onConnectionError, onUnreplicatedWrite, rememberUnconfirmedMs: config.tokens.lockLease, onInvalidate: (sid) => tunnels?.invalidated(sid) });
  const store = observeSessionEnds(instrumentStore(rawStore, metrics), (sid) => tunnels?.sessionEnded(sid));
  tunnels = new Tunnels({ store, checkIntervalMs: config.proxy.webSocketSessionCheck, now, logger });
  // Every failed discovery (at start, on a readiness probe, on first use) is logged with its cause.
  const onDiscoveryFailure = (provider: string, err: unknown) =>
    logger.warn({ event: 'provider_discovery_failed', provider, cause: err instanceof Error ? err.message : String(err) }, 'provider discovery failed; retrying on first use');
  // RFC 8707: each login asks for the resource indicators of the routes its provider serves.
  const resourcesOfProvider = (id: string) => resourcesOf(config.routes, id);
  const providers = deps.providers ?? createProviders(config.providers, { now, onDiscoveryFailure, resourcesOf: resourcesOfProvider });
  const keyring = new Keyring(config.keys.encryption, { openedCacheSize: openedCacheSize(config.store) });
  const keys = cookieKeys(config.keys.cookie);
  const cookies = createCookies(config, keys);
  const revoker = new Revoker({ logger, metrics, ...deps.revocation });
  const readiness = createReadiness({
    checks: [
      { name: 'store', check: () => store.ping() },
      // A discovery-based provider is ready once its metadata loaded; a probe retries discovery.
      // Looked up at each check: a key reload may replace a provider (a new client secret).
      ...[...providers.keys()].map((id) => ({
        name: `provider:${id}`,
        check: () => {
          const provider = providers.get(id)!;
          return provider.ready ? Promise.resolve() : provider.init();
        },
      })),
    ],
  });
  const ops = createOpsApp({ metrics, readiness });
  if (config.store.type === 'redis' && ownsStore) {
    registerSealedKidsGauge({ registry: metrics.registry, redis: config.store.redis, configuredKids: () => keyring.kids, logger });
  }

  if (cookies.policy.plainHttp) {
    logger.warn(
      { event: 'insecure_cookies', publicOrigin: config.publicOrigin },
      'plain-http public origin (loopback development only): cookies are not Secure and have no __Host- prefix',
    );
  }
  for (const setting of insecureSettings(config)) {
    logger.warn({ event: 'insecure_allowed', setting }, 'allowInsecure: plain http outside loopback is allowed here; tokens and credentials cross the network unencrypted');
  }

  // The reverse proxy (src/proxy, built from config.routes), after the /auth routes and before
  // the 404. WebSocket handshakes reach it through the server's 'upgrade' event (see listen).
  const sessionOptions = { cookie: cookies.session, store, idleTimeoutMs: config.session.idleTimeout, now, logger };
  const tokens = new TokenService({ store, providers, keyring, config: config.tokens, now, logger, metrics });
  const auth = createAuthRouter({ config, store, providers, keyring, cookies, revoker, logger, now, tokens });
  // The forward-auth verify endpoint on this listener, for requests that carry the shared
  // secret (without one it lives on its own listener only, see listenerSpecs below).
  const forwardAuth = config.forwardAuth.enabled && config.forwardAuth.sharedSecret !== undefined
    ? [forwardAuthOnMainListener({ config, store, cookies, tokens, logger, now })]
    : [];
  const forwardAuthPath = forwardAuth.length > 0 ? config.forwardAuth.path : undefined;
  const canonical = { publicOrigin: config.publicOrigin, trustedHosts: config.trustedHosts, exempt: [config.forwardAuth.path] };
  const proxy = createProxy({
    config,
    tokens,
    logger,
    metrics,
    sessions: sessionOptions,
    upgradeSessions: sessionFromRequest(sessionOptions),
    tunnels,
    now,
    canonical,
    // Koa serves these even under a route's prefix (the auth routes came first in its chain).
    gatewayOwns: (path) => isAuthPath(path) || (forwardAuthPath !== undefined && isVerifyPath(path, forwardAuthPath)),
  });
  const session = loadSession({
    ...sessionOptions,
    routeLabel: (ctx) =>
      authRouteName(auth, ctx.method, ctx.path) ??
      (config.forwardAuth.enabled && ctx.path === config.forwardAuth.path ? 'forward_auth.verify' : proxy.routeName(ctx.url)),
  });

  const app = new Koa();
  app.keys = keys;
  app.silent = true;
  const chain: Middleware[] = [
    errorHandler({ jsonOnly: [config.forwardAuth.path], providerIds: [...providers.keys()] }),
    accessLog({ logger, metrics }),
    securityHeaders(),
    canonicalOrigin(canonical),
    session,
    ...forwardAuth,
    // The router's middleware adds `params` to the context it is given; Koa supplies it.
    auth.routes() as Middleware,
    proxy.unrouted,
  ];
  for (const middleware of chain) app.use(middleware);
  // Route first, Koa second: a proxied route is served by the proxy's own handler (no Koa
  // context); everything else by the Koa app.
  const koa = app.callback();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!proxy.handle(req, res)) void koa(req, res);
  };

  const forwardAuthListen = config.forwardAuth.enabled ? config.forwardAuth.listen : undefined;
  const listenerSpecs: ListenerSpec[] = [
    { name: 'main', handler, at: config.listen, setting: 'listen.port (tokengate dev: --port)', upgrade: proxy.handleUpgrade, limits: config.server },
    { name: 'ops', handler: ops.callback(), at: config.ops, setting: 'ops.port', keep: true },
  ];
  if (forwardAuthListen !== undefined) {
    // The gateway's own TokenService: one single-flight refresh per session for proxy and verify alike.
    const forwardAuthApp = createForwardAuthApp({ config, store, cookies, tokens, logger, metrics, now });
    listenerSpecs.push({ name: 'forward-auth', handler: forwardAuthApp.callback(), at: forwardAuthListen, setting: 'forwardAuth.listen.port', limits: config.server });
  }

  const listeners = new Listeners();
  let closing: Promise<void> | undefined;
  const shutdownParts = { logger, readiness, tokens, proxy, revoker, store: ownsStore ? rawStore : undefined };

  return {
    app,
    config,
    store,
    providers,
    keyring,
    logger,
    metrics,
    readiness,
    ops,
    cookies,
    cookieKeys: keys,
    setForwardAuthSecret: (value) => live.setForwardAuthSecret(value),
    async replaceProvider(providerConfig) {
      if (deps.providers !== undefined || !providers.has(providerConfig.id)) return false;
      const next = createProvider(providerConfig, { now, onDiscoveryFailure, resourcesOf: resourcesOfProvider });
      await next.init().catch(() => undefined);
      providers.set(providerConfig.id, next);
      return true;
    },
    revoker,
    tokens,
    lastStoreConnectionError: () => storeConnectionError,
    async start() {
      // Failures are logged with their cause by onDiscoveryFailure (or, for injected providers, here).
      const results = await Promise.allSettled([...providers.values()].map((provider) => provider.init()));
      if (deps.providers === undefined) return;
      results.forEach((result, index) => {
        if (result.status === 'rejected') onDiscoveryFailure([...providers.keys()][index]!, result.reason);
      });
    },
    callback() {
      return handler;
    },
    upgrade: (req, socket, head) => proxy.handleUpgrade(req, socket as Socket, head),
    listeners: listenerSpecs,
    async listen(options = {}) {
      const name = options.listener ?? 'main';
      const spec = listenerSpecs.find((candidate) => candidate.name === name);
      if (spec === undefined) throw new TypeError(`this gateway has no ${name} listener`);
      const at = { ...(options.host !== undefined ? { host: options.host } : {}), ...(options.port !== undefined ? { port: options.port } : {}) };
      const { url, server } = await bindListener(spec, at);
      listeners.add(server, { keep: spec.keep ?? false });
      return { url, server, close: () => closeServer(server).finally(() => listeners.delete(server)) };
    },
    attach(server, options = {}) {
      listeners.add(server, options);
    },
    close(options = {}) {
      const reason = options.reason;
      closing ??= shutDown(listeners, shutdownParts, { graceMs: options.graceMs ?? config.shutdown.grace, drainDelayMs: config.shutdown.drainDelay, ...(reason !== undefined ? { reason } : {}) });
      return closing;
    },
  };
}
