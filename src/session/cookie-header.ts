/**
 * Reading one cookie out of a raw `Cookie` request header, by the rules of the `cookies`
 * package behind Koa's `ctx.cookies.get`: the first `name=value` pair at the start of the header
 * or after a `;` (and optional spaces), the value up to the next `;`, one pair of surrounding
 * double quotes removed, no percent-decoding.
 */

/** The pattern that finds every cookie `name` in a header; build it once per name. */
export function cookiePattern(name: string): RegExp {
  return new RegExp(`(?:^|;) *${name.replace(/[-[\]{}()*+?.,\\^$|#\s]/g, '\\$&')}=([^;]*)`, 'g');
}

/**
 * Every value of the cookie `pattern` finds in a header, in order (a browser sends several
 * cookies of one name when they differ in Domain or Path, longest path first), at most `limit`.
 */
export function cookieValues(header: string | undefined, pattern: RegExp, limit: number): string[] {
  if (!header) return [];
  const values: string[] = [];
  // matchAll works on a copy of the pattern: a shared pattern's lastIndex is never touched.
  for (const match of header.matchAll(pattern)) {
    const value = match[1]!;
    values.push(value.startsWith('"') ? value.slice(1, -1) : value);
    if (values.length === limit) break;
  }
  return values;
}
