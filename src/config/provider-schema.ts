import { z } from 'zod';
import { privateKeyProblem } from '../providers/private-key.ts';
import { hideSecrets } from '../secret.ts';
import { duration, httpUrl, secret } from './schema-fields.ts';

/** The `providers` part of the configuration schema (see schema.ts). */

export const providerId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'provider id must be 1-32 lowercase letters, digits, _ or -');

const providerBase = {
  id: providerId,
  clientId: z.string().min(1),
  clientSecret: secret,
  scopes: z.array(z.string().min(1)).optional(),
  /** Extra parameters for the authorization request (e.g. `prompt`, `hd`). */
  authorizationParams: z.record(z.string(), z.string()).default({}),
  /** Display name for login pages and logs. */
  name: z.string().optional(),
  timeout: duration('10s'),
};

/** Plain-http URLs outside loopback need this set (RFC 9700 2.6); the gateway warns at start. */
const allowInsecure = z.boolean().default(false);
/** Audiences besides the client id that an ID token may name (OIDC Core 3.1.3.7 step 3). */
const trustedAudiences = z.array(z.string().min(1)).default([]);

const oidcProvider = z
  .object({
    ...providerBase,
    type: z.literal('oidc'),
    issuer: httpUrl,
    /** With private_key_jwt no client secret is needed. */
    clientSecret: secret.optional(),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
    /** private_key_jwt: the client's private key, PEM or JWK (JSON text); usually `{ file }` or `{ env }`. */
    privateKey: secret
      .superRefine((key, ctx) => {
        const problem = privateKeyProblem(key);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** private_key_jwt: the assertion's `aud`, the issuer (default) or the token endpoint from discovery (older providers). */
    clientAssertionAudience: z.enum(['issuer', 'token_endpoint']).default('issuer'),
    /** Where the provider sends the browser after RP-initiated logout; a path on this gateway. */
    postLogoutRedirectPath: z.string().startsWith('/').default('/'),
    trustedAudiences,
    /** Accept back-channel logout tokens without `exp` (at most 2 minutes old), for providers known to omit it. */
    acceptLogoutTokenWithoutExp: z.boolean().default(false),
    /**
     * Pushed authorization requests (RFC 9126): `auto` pushes when the provider's metadata names a
     * `pushed_authorization_request_endpoint`, `required` refuses logins when it does not, `off`
     * never pushes (and refuses logins when the metadata says `require_pushed_authorization_requests`).
     */
    par: z.enum(['auto', 'required', 'off']).default('auto'),
    /**
     * Sender-constrained access tokens (DPoP, RFC 9449): each session gets its own ES256 key at
     * login; token requests and proxied requests carry proofs signed with it, and the upstream
     * receives `Authorization: DPoP <token>`. Not with forward-auth (see README).
     */
    dpop: z.boolean().default(false),
    allowInsecure,
  })
  .strict()
  .superRefine((provider, ctx) => {
    if (provider.tokenEndpointAuthMethod === 'private_key_jwt' && provider.privateKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['privateKey'], message: 'private_key_jwt needs privateKey (PEM or JWK)' });
    }
    if (provider.tokenEndpointAuthMethod !== 'private_key_jwt' && provider.clientSecret === undefined) {
      // Reported like any missing field: "required", naming the environment variables (messages.ts).
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `${provider.tokenEndpointAuthMethod} needs clientSecret`, params: { missing: true } });
    }
  });

const googleProvider = z.object({ ...providerBase, type: z.literal('google'), trustedAudiences }).strict();
const githubProvider = z
  .object({
    ...providerBase,
    type: z.literal('github'),
    /** GitHub Enterprise Server base, e.g. https://github.example.com. */
    baseUrl: httpUrl.default('https://github.com'),
    apiUrl: httpUrl.default('https://api.github.com'),
    allowInsecure,
  })
  .strict();
const discordProvider = z.object({ ...providerBase, type: z.literal('discord') }).strict();

/** The provider fields that may be printed; `clientSecret` and `privateKey` print as '[present]'. */
const PROVIDER_PRINTABLE = [
  'id',
  'type',
  'name',
  'clientId',
  'scopes',
  'authorizationParams',
  'timeout',
  'issuer',
  'tokenEndpointAuthMethod',
  'clientAssertionAudience',
  'postLogoutRedirectPath',
  'trustedAudiences',
  'acceptLogoutTokenWithoutExp',
  'par',
  'dpop',
  'allowInsecure',
  'baseUrl',
  'apiUrl',
];

export const providerSchema = z
  .discriminatedUnion('type', [oidcProvider, googleProvider, githubProvider, discordProvider])
  .transform((provider) => hideSecrets(provider, PROVIDER_PRINTABLE));
