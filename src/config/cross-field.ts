import type { z } from 'zod';
import { sameOriginPath } from '../auth/return-to.ts';
import type { ConfigFields } from './schema.ts';
import { isBareOrigin, isTlsOrLoopback } from './url-rules.ts';

/**
 * The rules of the configuration schema that span its parts: provider ids and route prefixes
 * unique, routes naming known providers, https outside loopback, logout paths on this gateway,
 * one worker with the memory store.
 */
export function crossFieldRules(config: ConfigFields, ctx: z.RefinementCtx): void {
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
    routeTokenIssues(config, route).forEach(([field, message]) => ctx.addIssue({ code: 'custom', path: ['routes', index, field], message }));
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
  config.providers.forEach((provider, index) => {
    // A proof names the exact URL and method the upstream receives, and a nonce challenge needs a
    // resend: forward-auth answers headers for an ingress that does neither.
    if (provider.type === 'oidc' && provider.dpop && config.forwardAuth.enabled) {
      ctx.addIssue({ code: 'custom', path: ['providers', index, 'dpop'], message: 'DPoP works on proxied routes only: forward-auth cannot sign a proof for the request the ingress sends on (turn forwardAuth.enabled or dpop off)' });
    }
  });
  const workers = config.workers === undefined ? undefined : memoryStoreWorkersProblem(config.workers, config.store.type);
  if (workers !== undefined) ctx.addIssue({ code: 'custom', path: ['workers'], message: workers });
}

/**
 * More than one worker with the memory store, whether `workers` comes from the file or from
 * `--workers` (src/cli/workers.ts): the store lives inside one process.
 */
export function memoryStoreWorkersProblem(workers: number, store: string): string | undefined {
  if (workers <= 1 || store !== 'memory') return undefined;
  return `${workers} workers cannot share the memory store: it lives inside one process, so a session made by one worker would be unknown to the others. Use the redis store for more than one worker, or run one.`;
}

/** A route's own token (`resource`, `exchange`): one of the two, on a route that sends a token, from an OIDC provider. */
function routeTokenIssues(config: ConfigFields, route: ConfigFields['routes'][number]): Array<[string, string]> {
  const field = route.resource !== undefined ? 'resource' : route.exchange !== undefined ? 'exchange' : undefined;
  if (field === undefined) return [];
  if (route.resource !== undefined && route.exchange !== undefined) return [['exchange', 'a route takes either resource or exchange, not both']];
  if (route.auth === 'public') return [[field, `${field} needs a route that sends a token (auth: required or optional)`]];
  const provider = route.provider === undefined ? undefined : config.providers.find((candidate) => candidate.id === route.provider);
  if (provider !== undefined && provider.type !== 'oidc') return [[field, `${field} needs an oidc provider; "${provider.id}" is ${provider.type}`]];
  return [];
}
