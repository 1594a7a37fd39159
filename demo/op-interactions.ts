import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { Accounts } from './op-accounts.ts';
import { consentPage, loginPage } from './op-pages.ts';

/**
 * The provider's own login and consent pages (the library's development forms accept any
 * password, so the demo provider renders its own and checks the configured users):
 *
 *   GET  /interaction/:uid          login form, or consent form
 *   POST /interaction/:uid/login    login=<username>&password=<password>
 *   POST /interaction/:uid/confirm  grants the requested scopes and claims
 *   POST /interaction/:uid/abort    access_denied back to the client
 */

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/;
const MAX_FORM_BYTES = 16 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_FORM_BYTES) throw Object.assign(new Error('form too large'), { status: 413, expose: true });
    chunks.push(buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function requestedScopes(details: Record<string, unknown>): string[] {
  const scopes = details['missingOIDCScope'];
  return Array.isArray(scopes) ? scopes.filter((scope): scope is string => typeof scope === 'string') : [];
}

export function interactionRoutes(provider: Provider, accounts: Accounts): Middleware {
  return async function interactions(ctx, next) {
    const match = ROUTE.exec(ctx.path);
    if (match === null) return next();
    const action = match[2];
    ctx.set('cache-control', 'no-store');

    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    const client = await provider.Client.find(String(interaction.params['client_id']));
    const clientName = client?.clientName ?? client?.clientId ?? 'the application';
    const { prompt, uid } = interaction;

    if (action === undefined && ctx.method === 'GET') {
      ctx.type = 'html';
      if (prompt.name === 'login') {
        const hint = interaction.params['login_hint'];
        ctx.body = loginPage(uid, clientName, typeof hint === 'string' ? { loginHint: hint } : {});
      } else {
        ctx.body = consentPage(uid, clientName, requestedScopes(prompt.details));
      }
      return;
    }
    if (ctx.method !== 'POST' || action === undefined) return ctx.throw(405);

    if (action === 'abort') {
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
        error: 'access_denied',
        error_description: 'End-User aborted interaction',
      }, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(returnTo);
      return;
    }

    const form = await readForm(ctx.req);
    if (action === 'login') {
      if (prompt.name !== 'login') return ctx.throw(400, 'no login pending');
      const user = accounts.authenticate(form.get('login') ?? '', form.get('password') ?? '');
      if (user === undefined) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginPage(uid, clientName, { error: 'Wrong username or password' });
        return;
      }
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(returnTo);
      return;
    }

    if (prompt.name !== 'consent') return ctx.throw(400, 'no consent pending');
    const accountId = interaction.session?.accountId;
    if (accountId === undefined) return ctx.throw(400, 'no signed-in user');
    const grant = interaction.grantId === undefined
      ? new provider.Grant({ accountId, clientId: String(interaction.params['client_id']) })
      : await provider.Grant.find(interaction.grantId);
    if (grant === undefined) return ctx.throw(400, 'grant not found');
    const { details } = prompt;
    const missingScope = requestedScopes(details);
    if (missingScope.length > 0) grant.addOIDCScope(missingScope.join(' '));
    const missingClaims = details['missingOIDCClaims'];
    if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims as string[]);
    const missingResourceScopes = details['missingResourceScopes'];
    if (missingResourceScopes !== null && typeof missingResourceScopes === 'object') {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes as Record<string, string[]>)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}
