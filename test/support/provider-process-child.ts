import { createHash } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { startOpenIdProvider, type OpenIdProviderHandle, type OpenIdProviderOptions } from '../../demo/op.ts';

/**
 * The child side of provider-process.ts: the demo OpenID Provider in a process of its own, driven
 * over the IPC channel. Besides the provider's own counters it counts how often each refresh
 * token value was presented at the token endpoint (by SHA-256, never the value), so a test can
 * check that no refresh token was ever sent twice.
 */

type Request =
  | { id: number; op: 'start'; options: OpenIdProviderOptions }
  | { id: number; op: 'stats' }
  | { id: number; op: 'resetStats' }
  | { id: number; op: 'setTokenEndpointDelay'; ms: number }
  | { id: number; op: 'introspect'; token: string }
  | { id: number; op: 'close' };

let handle: OpenIdProviderHandle | undefined;
const presented = new Map<string, number>();

function countPresented(ctx: KoaContextWithOIDC): void {
  const params = ctx.oidc.params as Record<string, unknown> | undefined;
  if (params?.['grant_type'] !== 'refresh_token' || typeof params['refresh_token'] !== 'string') return;
  const digest = createHash('sha256').update(params['refresh_token']).digest('hex');
  presented.set(digest, (presented.get(digest) ?? 0) + 1);
}

async function answer(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'start': {
      handle = await startOpenIdProvider(request.options);
      handle.provider.on('grant.success', countPresented);
      handle.provider.on('grant.error', countPresented);
      return { issuer: handle.issuer, port: handle.port };
    }
    case 'stats':
      return { ...handle!.stats, presentedMax: Math.max(0, ...presented.values()), presentedTokens: presented.size };
    case 'resetStats':
      handle!.resetStats();
      presented.clear();
      return null;
    case 'setTokenEndpointDelay':
      handle!.setTokenEndpointDelay(request.ms);
      return null;
    case 'introspect':
      return handle!.introspect(request.token);
    case 'close':
      await handle?.close();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (request: Request) => {
  answer(request).then(
    (result) => process.send!({ id: request.id, ok: true, result }),
    (err: unknown) => process.send!({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
