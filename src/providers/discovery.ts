import { isTlsOrLoopback } from '../config/schema.ts';
import { ProviderError } from '../errors.ts';
import { expectJsonObject, type JsonObject } from './answers.ts';
import type { ProviderHttp } from './http.ts';

/**
 * OpenID Connect Discovery 1.0: `<issuer>/.well-known/openid-configuration`. The document's
 * `issuer` must equal the configured issuer exactly (section 4.3), the endpoints must be http(s)
 * URLs, and an https issuer may only name https endpoints. Plain http is accepted only on
 * loopback hosts or with the provider's `allowInsecure` (RFC 9700 2.6, RFC 7009 2), the same
 * rule the config applies to the issuer. Every failure is transient: the provider may come up
 * later, and the caller retries `init()`.
 *
 * Also read: `authorization_response_iss_parameter_supported` (RFC 9207: when true, an
 * authorization response without `iss` is refused) and `code_challenge_methods_supported`
 * (a login needs S256 when the provider lists its methods).
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
  /** RFC 9207 section 3. */
  issParameterSupported: boolean;
  /** PKCE methods, when the provider lists them. */
  codeChallengeMethods: string[] | undefined;
}

export interface DiscoveryRules {
  /** Accept plain-http endpoints outside loopback. */
  allowInsecure: boolean;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export async function discover(http: ProviderHttp, issuer: string, rules: DiscoveryRules = { allowInsecure: false }): Promise<OidcMetadata> {
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
  return readMetadata(http.providerId, issuer, body, rules);
}

export function readMetadata(providerId: string, issuer: string, body: JsonObject, rules: DiscoveryRules = { allowInsecure: false }): OidcMetadata {
  const invalid = (why: string) => new ProviderError(providerId, `${providerId}: discovery document rejected: ${why}`, { transient: true });
  if (body['issuer'] !== issuer) throw invalid('issuer does not match the configured issuer');
  const secure = new URL(issuer).protocol === 'https:';
  const optional = (field: string): string | undefined => {
    const value = body[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !URL.canParse(value)) throw invalid(`${field} is not a URL`);
    const protocol = new URL(value).protocol;
    if (protocol !== 'https:' && (secure || protocol !== 'http:')) throw invalid(`${field} must use https`);
    if (!rules.allowInsecure && !isTlsOrLoopback(value)) throw invalid(`${field} must use https outside loopback`);
    return value;
  };
  const required = (field: string): string => {
    const value = optional(field);
    if (value === undefined) throw invalid(`${field} is missing`);
    return value;
  };
  const algs = body['id_token_signing_alg_values_supported'];
  const pkceMethods = body['code_challenge_methods_supported'];
  return {
    issuer,
    authorizationEndpoint: required('authorization_endpoint'),
    tokenEndpoint: required('token_endpoint'),
    jwksUri: required('jwks_uri'),
    userinfoEndpoint: optional('userinfo_endpoint'),
    revocationEndpoint: optional('revocation_endpoint'),
    endSessionEndpoint: optional('end_session_endpoint'),
    idTokenSigningAlgValues: Array.isArray(algs) ? algs.filter((alg): alg is string => typeof alg === 'string') : undefined,
    issParameterSupported: body['authorization_response_iss_parameter_supported'] === true,
    codeChallengeMethods: Array.isArray(pkceMethods) ? pkceMethods.filter((method): method is string => typeof method === 'string') : undefined,
  };
}
