/**
 * Client authentication at a token or revocation endpoint (RFC 6749 section 2.3.1).
 * `client_secret_basic` form-urlencodes the id and the secret before base64, as the RFC requires
 * (a secret holding `:` or `%` would otherwise be misread).
 */

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface ClientAuthentication {
  headers: Record<string, string>;
  /** Form parameters to add to the request body. */
  params: Record<string, string>;
}

/** application/x-www-form-urlencoded encoding of one value (space as `+`). */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

export function clientAuthentication(method: ClientAuthMethod, credentials: ClientCredentials): ClientAuthentication {
  if (method === 'client_secret_post') {
    return { headers: {}, params: { client_id: credentials.clientId, client_secret: credentials.clientSecret } };
  }
  return {
    headers: { authorization: basicAuthorization(formEncode(credentials.clientId), formEncode(credentials.clientSecret)) },
    params: {},
  };
}
