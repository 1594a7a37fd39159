import { optionalString, type JsonObject } from './answers.ts';
import type { UserProfile } from './types.ts';

/** A UserProfile holding only the fields that have a value (no `undefined` keys). */
export function userProfile(fields: UserProfile): UserProfile {
  const profile: UserProfile = { sub: fields.sub };
  if (fields.name !== undefined) profile.name = fields.name;
  if (fields.email !== undefined) profile.email = fields.email;
  if (fields.picture !== undefined) profile.picture = fields.picture;
  if (fields.providerSid !== undefined) profile.providerSid = fields.providerSid;
  return profile;
}

/**
 * The profile in OpenID Connect standard claims, from an ID token or a UserInfo answer: `name`
 * (else `preferred_username`), `email`, `picture`; empty or non-string values are left out.
 */
export function profileFromStandardClaims(sub: string, claims: JsonObject): UserProfile {
  const text = (field: string) => optionalString(claims, field);
  return userProfile({ sub, name: text('name') ?? text('preferred_username'), email: text('email'), picture: text('picture') });
}
