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
 * (a login needs S256 when the provider lists its methods), and for pushed authorization
 * requests (RFC 9126) `pushed_authorization_request_endpoint` (under the same https rule as every
 * endpoint) and `require_pushed_authorization_requests`.
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
  /** RFC 9126 section 5: where authorization requests are pushed, when the provider takes them. */
  pushedAuthorizationRequestEndpoint: string | undefined;
  /** RFC 9126 section 5: the provider accepts authorization requests only when pushed. */
  requirePushedAuthorizationRequests: boolean;
}

export interface DiscoveryRules {
  /** Accept plain-http endpoints outside loopback. */
  allowInsecure: boolean;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Why discovery failed, for people: the log and /readyz carry the whole message (the discovery
 * URL, the errno or HTTP status, expected vs actual issuer; never a secret), the browser only
 * the class (`discoveryFailureText`). Kept on the ProviderError's cause as `problem`.
 */
export type DiscoveryProblem = 'unreachable' | 'timeout' | 'http_status' | 'not_a_provider' | 'issuer_mismatch' | 'invalid_metadata';

export interface DiscoveryCause {
  code: string | undefined;
  status: number | undefined;
  problem: DiscoveryProblem;
}

export async function discover(http: ProviderHttp, issuer: string, rules: DiscoveryRules = { allowInsecure: false }): Promise<OidcMetadata> {
  const operation = 'discovery';
  const url = discoveryUrl(issuer);
  let body: JsonObject;
  try {
    body = expectJsonObject(http.providerId, operation, await http.send(operation, { method: 'GET', url, headers: { accept: 'application/json' }, retry: 'network' }));
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    throw fetchFailure(http, url, err);
  }
  return readMetadata(http.providerId, issuer, body, rules, url);
}

/** A failed fetch of the discovery document, reworded to say where and why. Always transient. */
function fetchFailure(http: ProviderHttp, url: string, err: ProviderError): ProviderError {
  const where = `${http.providerId}: discovery at ${shown(url)} failed`;
  const code = causeCode(err);
  const fail = (problem: DiscoveryProblem, why: string) =>
    new ProviderError(http.providerId, `${where}: ${why}`, {
      transient: true,
      httpStatus: err.httpStatus,
      cause: { code, status: err.httpStatus, problem } satisfies DiscoveryCause,
    });
  if (err.httpStatus === undefined) {
    if (code === 'ETIMEDOUT') return fail('timeout', `no answer within ${http.timeoutMs} ms`);
    return fail('unreachable', `cannot connect (${code ?? 'network error'}): check the issuer's host and port, and that the provider is running`);
  }
  if (err.httpStatus < 200 || err.httpStatus >= 300) {
    return fail('http_status', `HTTP ${err.httpStatus}: is the issuer URL right? Tokengate reads <issuer>/.well-known/openid-configuration`);
  }
  return fail('not_a_provider', `HTTP ${err.httpStatus} with a body that is not a JSON object: this is not an OpenID Provider's discovery document`);
}

/** A URL for messages: without user info (an issuer should have none, but a message never shows it). */
function shown(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

function causeCode(err: ProviderError): string | undefined {
  const cause = err.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** The problem class of a discovery failure, when `err` is one. */
export function discoveryProblemOf(err: unknown): DiscoveryProblem | undefined {
  if (!(err instanceof ProviderError)) return undefined;
  const problem = (err.cause as Partial<DiscoveryCause> | undefined)?.problem;
  return typeof problem === 'string' ? problem : undefined;
}

const PROBLEM_TEXT: Record<DiscoveryProblem, string> = {
  unreachable: 'the identity provider cannot be reached',
  timeout: 'the identity provider did not answer in time',
  http_status: "the identity provider's discovery document was not found",
  not_a_provider: 'the configured issuer is not an OpenID Provider',
  issuer_mismatch: "the identity provider's issuer does not match the configuration",
  invalid_metadata: "the identity provider's discovery document is invalid",
};

/** Safe text for a browser: the class of the failure, no URL, no detail. */
export function discoveryFailureText(problem: DiscoveryProblem): string {
  return PROBLEM_TEXT[problem];
}

export function readMetadata(
  providerId: string,
  issuer: string,
  body: JsonObject,
  rules: DiscoveryRules = { allowInsecure: false },
  url: string = discoveryUrl(issuer),
): OidcMetadata {
  const rejected = (problem: DiscoveryProblem, why: string) =>
    new ProviderError(providerId, `${providerId}: discovery document at ${shown(url)} rejected: ${why}`, {
      transient: true,
      cause: { code: undefined, status: undefined, problem } satisfies DiscoveryCause,
    });
  const invalid = (why: string) => rejected('invalid_metadata', why);
  if (body['issuer'] !== issuer) throw rejected('issuer_mismatch', issuerMismatch(issuer, body['issuer']));
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
    pushedAuthorizationRequestEndpoint: optional('pushed_authorization_request_endpoint'),
    requirePushedAuthorizationRequests: body['require_pushed_authorization_requests'] === true,
  };
}

/** "expected vs actual", with the usual culprit (a trailing slash) named. */
function issuerMismatch(configured: string, actual: unknown): string {
  if (typeof actual !== 'string') return `the document has no issuer; the configured issuer is ${JSON.stringify(shown(configured))}`;
  const quoted = JSON.stringify(actual.length > 200 ? `${actual.slice(0, 200)}...` : actual);
  const slashOnly = actual.replace(/\/+$/, '') === configured.replace(/\/+$/, '');
  const hint = slashOnly ? ` (they differ only in a trailing slash: set issuer to exactly ${quoted})` : ' (issuer must equal the provider\'s issuer exactly)';
  return `the provider's issuer is ${quoted} but the configured issuer is ${JSON.stringify(shown(configured))}${hint}`;
}
