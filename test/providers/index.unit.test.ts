import { describe, expect, it } from 'vitest';
import { createProviders } from '../../src/providers/index.ts';
import { DiscordProvider } from '../../src/providers/discord.ts';
import { GithubProvider } from '../../src/providers/github.ts';
import { GoogleProvider } from '../../src/providers/google.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';

describe('createProviders', () => {
  it('builds one provider per config, keyed by id, without any I/O', () => {
    const providers = createProviders([
      providerConfig({ type: 'oidc', id: 'corp', issuer: 'http://127.0.0.1:9' }),
      providerConfig({ type: 'google', id: 'google' }),
      providerConfig({ type: 'github', id: 'gh-enterprise', baseUrl: 'https://github.example.com', apiUrl: 'https://github.example.com/api/v3' }),
      providerConfig({ type: 'discord', id: 'discord' }),
    ]);
    expect([...providers.keys()]).toEqual(['corp', 'google', 'gh-enterprise', 'discord']);
    expect(providers.get('corp')).toBeInstanceOf(OidcProvider);
    expect(providers.get('google')).toBeInstanceOf(GoogleProvider);
    expect(providers.get('gh-enterprise')).toBeInstanceOf(GithubProvider);
    expect(providers.get('discord')).toBeInstanceOf(DiscordProvider);
    // Discovery waits for init(): the unreachable issuer above was never contacted.
    expect(providers.get('corp')?.ready).toBe(false);
    expect([...providers.values()].filter((provider) => provider.ready).map((provider) => provider.id)).toEqual(['google', 'gh-enterprise', 'discord']);
  });

  it('keeps each provider on its own id and type', () => {
    const providers = createProviders([providerConfig({ type: 'github', id: 'a' }), providerConfig({ type: 'github', id: 'b' })]);
    expect(providers.get('a')).toMatchObject({ id: 'a', type: 'github' });
    expect(providers.get('b')).toMatchObject({ id: 'b', type: 'github' });
  });
});
