import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Middleware } from 'koa';
import { csrfOptionsFrom } from '../http/csrf.ts';
import { sequence } from '../http/sequence.ts';
import { attachToken } from './attach-token.ts';
import { forwardRequest } from './forward-request.ts';
import { Forwarder } from './forwarder.ts';
import { HeaderPolicy } from './headers.ts';
import { matchRoute } from './match-route.ts';
import { routeCsrf } from './route-csrf.ts';
import { ReplayBudget } from './replay-budget.ts';
import { RouteTable } from './route-table.ts';
import { UpstreamAgents } from './upstream-agents.ts';
import { type UpgradeSessionReader, upgradeHandler } from './upgrade.ts';
import type { ProxyOptions } from './types.ts';

/**
 * The reverse proxy, built from `config.routes`. A proxied request runs, in order:
 *
 *   matchRoute     the route (longest prefix on a segment boundary) or 404, never forwarded
 *   checkRouteCsrf the CSRF header (every method unless the route says `csrf: unsafe`; not for
 *                  page navigations on `page` routes) and an allowed Origin, else 403
 *   authorizeRoute the route's auth policy; the session's token from TokenService
 *   forwardUpstream header policy, body buffering, http-proxy-3, replay once on 401, stream back
 *
 * `handleUpgrade` does the same for WebSocket handshakes (wire it to the server's 'upgrade'
 * event). At shutdown, `dropUpgrades()` ends the WebSocket tunnels (a server cannot finish
 * closing while they are open) and, once the server is closed, `close()` destroys the upstream
 * keep-alive agents.
 */

export interface GatewayProxy {
  middleware: Middleware;
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Closes every proxied WebSocket (and handshake in progress). */
  dropUpgrades(): void;
  /** dropUpgrades, then destroys the upstream agents and their sockets. */
  close(): void;
}

export interface CreateProxyOptions extends ProxyOptions {
  /** How a WebSocket handshake finds its session; without it, handshakes are anonymous. */
  upgradeSessions?: UpgradeSessionReader;
}

export function createProxy(options: CreateProxyOptions): GatewayProxy {
  const { config, tokens, logger, metrics } = options;
  const publicOrigin = new URL(config.publicOrigin);
  const table = new RouteTable(config.routes);
  const headers = new HeaderPolicy({ cookieName: config.session.cookieName, csrfHeader: config.csrf.header, stripHeaders: config.proxy.stripHeaders });
  const agents = new UpstreamAgents();
  const forwarder = new Forwarder(agents, logger);
  const sockets = new Set<Socket>();

  const middleware = sequence([
    matchRoute(table),
    routeCsrf(csrfOptionsFrom(config)),
    attachToken(tokens),
    forwardRequest({ forwarder, headers, tokens, publicOrigin, metrics, budget: new ReplayBudget(config.proxy.replayBudget), bodyIdleTimeoutMs: config.proxy.bodyIdleTimeout }),
  ]);

  const handleUpgrade = upgradeHandler({
    table,
    headers,
    tokens,
    forwarder,
    publicOrigin,
    allowedOrigins: new Set([publicOrigin.origin, ...config.csrf.allowedOrigins]),
    sessions: options.upgradeSessions,
    logger,
    sockets,
    maxPerSession: config.proxy.maxWebSocketsPerSession,
  });

  const dropUpgrades = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    middleware,
    handleUpgrade,
    dropUpgrades,
    close() {
      dropUpgrades();
      agents.close();
    },
  };
}
