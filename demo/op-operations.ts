import type { Provider } from 'oidc-provider';
import type { IntrospectorCredentials } from './op-config.ts';

/**
 * What a test does to the provider behind the gateway's back. Tokens are looked up and
 * revoked through the library's own models, so the effect is exactly the provider's.
 */

/** RFC 7662 introspection response (the fields the demo uses; the provider may send more). */
export interface IntrospectionResponse {
  active: boolean;
  sub?: string;
  client_id?: string;
  scope?: string;
  exp?: number;
  iat?: number;
  sid?: string;
  token_type?: string;
  [claim: string]: unknown;
}

/** Calls the real introspection endpoint with the introspector's client credentials. */
export async function introspectToken(issuer: string, provider: Provider, credentials: IntrospectorCredentials, token: string): Promise<IntrospectionResponse> {
  const basic = Buffer.from(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`).toString('base64');
  const response = await fetch(new URL(provider.pathFor('introspection'), issuer), {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token }),
    signal: AbortSignal.timeout(5_000),
  });
  if (response.status !== 200) throw new Error(`introspection answered HTTP ${response.status}`);
  return (await response.json()) as IntrospectionResponse;
}

async function grantIdOf(provider: Provider, token: string): Promise<string | undefined> {
  const accessToken = await provider.AccessToken.find(token);
  if (accessToken?.grantId !== undefined) return accessToken.grantId;
  const refreshToken = await provider.RefreshToken.find(token, { ignoreExpiration: true });
  return refreshToken?.grantId;
}

/** Revokes the whole grant behind an access or refresh token: every token of it stops working. */
export async function revokeGrant(provider: Provider, token: string): Promise<boolean> {
  const grantId = await grantIdOf(provider, token);
  if (grantId === undefined) return false;
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
  return true;
}

/** Revokes one access token; its grant and refresh token stay valid. */
export async function revokeAccessToken(provider: Provider, token: string): Promise<boolean> {
  const accessToken = await provider.AccessToken.find(token);
  if (accessToken === undefined) return false;
  await accessToken.destroy();
  return true;
}

interface BackchannelCapableClient {
  clientId: string;
  backchannelLogoutUri?: string;
  backchannelLogout(sub: string, sid: string): Promise<void>;
}

/**
 * Makes the provider send a back-channel logout token (signed by its own keys, carrying `sub`
 * and `sid`) to every client with a `backchannel_logout_uri`, or to the one named. This is what
 * the provider does itself when the user ends the provider session (RP-initiated logout).
 * Rejects when a client does not answer 200/204.
 */
export async function sendBackchannelLogout(provider: Provider, clientIds: readonly string[], logout: { sub: string; sid: string; clientId?: string }): Promise<void> {
  const targets = logout.clientId === undefined ? clientIds : [logout.clientId];
  const sent: Promise<void>[] = [];
  for (const clientId of targets) {
    const client = (await provider.Client.find(clientId)) as unknown as BackchannelCapableClient | undefined;
    if (client === undefined) throw new Error(`unknown client "${clientId}"`);
    if (client.backchannelLogoutUri !== undefined) sent.push(client.backchannelLogout(logout.sub, logout.sid));
  }
  if (sent.length === 0) throw new Error('no client has a back-channel logout URI');
  await Promise.all(sent);
}
