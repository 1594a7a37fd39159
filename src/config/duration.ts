const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `<number><unit>`, matched after trimming; the JSON Schema of the config reuses it. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/**
 * Parses a duration for config: a number is seconds, a string is `<number><unit>` with unit
 * ms, s, m, h or d. Returns milliseconds, or undefined when the input is not a duration.
 */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  if (typeof input !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(input.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * UNITS[unit!]!);
}
