import Koa, { type Context } from 'koa';
import type { Metrics } from './metrics.ts';
import type { ReadinessReport } from './readiness.ts';

export interface OpsAppOptions {
  metrics: Pick<Metrics, 'render'>;
  /** Usually createReadiness(...). */
  readiness: () => Promise<ReadinessReport>;
}

/**
 * The operations listener's app (config `ops`, default port 9464): not for browsers.
 *
 * - `GET /metrics`: Prometheus text format.
 * - `GET /healthz`: 200 `{ status: 'ok' }` while the process can answer at all (liveness).
 * - `GET /readyz`: 200 `{ status: 'ready' }`, or 503 `{ status: 'not_ready', failing: [...] }`
 *   with `checks: { <name>: { ok, error? } }` saying why a check fails (a provider's discovery URL
 *   and cause, the store's error code).
 *
 * HEAD works wherever GET does; anything else is 404 or 405.
 */
export function createOpsApp(options: OpsAppOptions): Koa {
  const app = new Koa();
  app.silent = true;
  const routes: Record<string, (ctx: Context) => Promise<void>> = {
    '/metrics': async (ctx) => {
      const { contentType, body } = await options.metrics.render();
      ctx.type = contentType;
      ctx.body = body;
    },
    '/healthz': async (ctx) => {
      ctx.body = { status: 'ok' };
    },
    '/readyz': async (ctx) => {
      const report = await options.readiness();
      ctx.status = report.ready ? 200 : 503;
      ctx.body = report.ready ? { status: 'ready' } : { status: 'not_ready', failing: report.failing, ...(report.checks ? { checks: report.checks } : {}) };
    },
  };
  app.use(async (ctx) => {
    const route = Object.hasOwn(routes, ctx.path) ? routes[ctx.path] : undefined;
    ctx.set('Cache-Control', 'no-store');
    if (route === undefined) {
      ctx.status = 404;
      ctx.body = { status: 'not_found' };
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = { status: 'method_not_allowed' };
      return;
    }
    await route(ctx);
  });
  return app;
}
