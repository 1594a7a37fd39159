import { describe, expect, it } from 'vitest';
import { profileFromStandardClaims, userProfile } from '../../src/providers/profile.ts';

describe('a user profile', () => {
  it('holds only the fields that have a value', () => {
    const profile = userProfile({ sub: 's-1', name: undefined, email: 'a@example.test', picture: undefined, providerSid: undefined });
    expect(Object.keys(profile)).toEqual(['sub', 'email']);
  });

  it('takes name, email and picture from standard claims, preferred_username when there is no name', () => {
    expect(profileFromStandardClaims('s-1', { name: 'Ada', preferred_username: 'ada', email: 'ada@example.test', picture: 'https://p.example/a.png', sid: 'x' })).toEqual({
      sub: 's-1',
      name: 'Ada',
      email: 'ada@example.test',
      picture: 'https://p.example/a.png',
    });
    expect(profileFromStandardClaims('s-2', { name: '', preferred_username: 'ada', email: 42 })).toStrictEqual({ sub: 's-2', name: 'ada' });
  });
});
