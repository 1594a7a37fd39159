import type { Context, Next } from 'koa';
import { NotFoundError } from '../errors.ts';
import type { RouteTable } from './route-table.ts';
import type { ProxyState } from './types.ts';

/** Finds the route of the request; a path no route matches is 404 and is never forwarded. */
export function matchRoute(table: RouteTable) {
  return async function routeRequest(ctx: Context & { state: ProxyState }, next: Next): Promise<void> {
    const match = table.match(ctx.url);
    if (match === undefined) throw new NotFoundError();
    ctx.state.match = match;
    ctx.state.routeName = match.route.name;
    ctx.state.upstream = match.route.upstream.origin;
    await next();
  };
}
