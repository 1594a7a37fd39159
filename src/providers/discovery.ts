import { ProviderError } from '../errors.ts';
import { expectJsonObject, type JsonObject } from './answers.ts';
import type { ProviderHttp } from './http.ts';

/**
 * OpenID Connect Discovery 1.0: `<issuer>/.well-known/openid-configuration`. The document's
 * `issuer` must equal the configured issuer exactly (section 4.3), the endpoints must be http(s)
 * URLs, and an https issuer may only name https endpoints. Every failure is transient: the
 * provider may come up later, and the caller retries `init()`.
 */

export interface OidcMetadata {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  userinfoEndpoint: string | undefined;
  revocationEndpoint: string | undefined;
  endSessionEndpoint: string | undefined;
  idTokenSigningAlgValues: string[] | undefined;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export async function discover(http: ProviderHttp, issuer: string): Promise<OidcMetadata> {
  const operation = 'discovery';
  let body: JsonObject;
  try {
    body = expectJsonObject(http.providerId, operation, await http.send(operation, { method: 'GET', url: discoveryUrl(issuer), headers: { accept: 'application/json' }, retry: 'network' }));
  } catch (err) {
    if (err instanceof ProviderError && !err.transient) {
      throw new ProviderError(http.providerId, err.message, { transient: true, httpStatus: err.httpStatus, cause: { code: undefined, status: err.httpStatus } });
    }
    throw err;
  }
  return readMetadata(http.providerId, issuer, body);
}

export function readMetadata(providerId: string, issuer: string, body: JsonObject): OidcMetadata {
  const invalid = (why: string) => new ProviderError(providerId, `${providerId}: discovery document rejected: ${why}`, { transient: true });
  if (body['issuer'] !== issuer) throw invalid('issuer does not match the configured issuer');
  const secure = new URL(issuer).protocol === 'https:';
  const optional = (field: string): string | undefined => {
    const value = body[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !URL.canParse(value)) throw invalid(`${field} is not a URL`);
    const protocol = new URL(value).protocol;
    if (protocol !== 'https:' && (secure || protocol !== 'http:')) throw invalid(`${field} must use https`);
    return value;
  };
  const required = (field: string): string => {
    const value = optional(field);
    if (value === undefined) throw invalid(`${field} is missing`);
    return value;
  };
  const algs = body['id_token_signing_alg_values_supported'];
  return {
    issuer,
    authorizationEndpoint: required('authorization_endpoint'),
    tokenEndpoint: required('token_endpoint'),
    jwksUri: required('jwks_uri'),
    userinfoEndpoint: optional('userinfo_endpoint'),
    revocationEndpoint: optional('revocation_endpoint'),
    endSessionEndpoint: optional('end_session_endpoint'),
    idTokenSigningAlgValues: Array.isArray(algs) ? algs.filter((alg): alg is string => typeof alg === 'string') : undefined,
  };
}
