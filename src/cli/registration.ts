import type { Config, ProviderConfig } from '../config/index.ts';

/**
 * What a person must register with each provider for this configuration: the redirect
 * (callback) URI always; for OIDC providers also the post-logout redirect URI (RP-initiated
 * logout) and the back-channel logout URI. `start` logs them and `dev` prints them.
 */
export interface ProviderUris {
  provider: string;
  callback: string;
  postLogout?: string;
  backchannelLogout?: string;
}

export function providerUris(config: Pick<Config, 'publicOrigin'>, provider: ProviderConfig): ProviderUris {
  const origin = config.publicOrigin;
  const uris: ProviderUris = { provider: provider.id, callback: `${origin}/auth/callback/${provider.id}` };
  if (provider.type === 'oidc') {
    uris.postLogout = `${origin}${provider.postLogoutRedirectPath}`;
    uris.backchannelLogout = `${origin}/auth/backchannel-logout/${provider.id}`;
  }
  return uris;
}

/** One line per URI, indented, for people. */
export function describeUris(uris: ProviderUris): string[] {
  return [
    `  Redirect URI (callback)   ${uris.callback}`,
    ...(uris.postLogout === undefined ? [] : [`  Post-logout redirect URI  ${uris.postLogout}`]),
    ...(uris.backchannelLogout === undefined ? [] : [`  Back-channel logout URI   ${uris.backchannelLogout}`]),
  ];
}
