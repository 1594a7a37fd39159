import { providerSchema, type ProviderConfig } from '../../../src/config/schema.ts';

type Input = Record<string, unknown> & { type: ProviderConfig['type'] };

/** A provider config the way the one schema produces it (defaults applied, durations in ms). */
export function providerConfig<T extends ProviderConfig['type']>(input: Input & { type: T }): Extract<ProviderConfig, { type: T }> {
  return providerSchema.parse({ id: input.type, clientId: 'client-123', clientSecret: 'secret-s3cr3t-value', ...input }) as Extract<ProviderConfig, { type: T }>;
}
