import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration } from './duration.ts';

/** Field types shared by the parts of the configuration schema (see schema.ts). */

/** A duration ("30s", "5m", "12h" or milliseconds) as milliseconds. */
const durationValue = () =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as "30s", "5m" or "12h", got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return ms;
  });

export const duration = (fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .pipe(durationValue());

/** A duration without a default: undefined when not set (the default depends on other settings). */
export const optionalDuration = () => durationValue().optional();

export const secret = z.string().min(1, 'must not be empty');

export const port = z.number().int().min(0).max(65535);

export const listener = (defaultPort: number) =>
  z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(defaultPort),
    })
    .strict();

/** An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
export const addressOrBlock = z.string().refine((value) => {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}, 'expected an IP address or a CIDR block such as 10.0.0.0/8');

export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** An http(s) URL reduced to its origin. Zod keeps going after a failed check, so guard the parse. */
export const httpOrigin = httpUrl.transform((value) => (URL.canParse(value) ? new URL(value).origin : value));

/** A header name to strip, or a prefix ending in `*` (`x-internal-*`); compared in lower case. */
export const headerPattern = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'+.^_`|~-]+\*?$/, 'a header name, or a prefix ending in *')
  .transform((name) => name.toLowerCase());
