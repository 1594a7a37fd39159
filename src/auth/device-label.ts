/**
 * A short, human label for the device a session was created on, from the login's User-Agent:
 * "Firefox on Linux", "Chrome on Android", "Safari on iPhone"; "Unknown device" when neither the
 * browser nor the system is recognised.
 *
 * Bounded: only the first `MAX_EXAMINED` characters are looked at, every test is a plain
 * substring search (no backtracking pattern), and the answer is always built from the fixed
 * names below, so a label never carries client text. The session record keeps the label, never
 * the header.
 */

export const UNKNOWN_DEVICE = 'Unknown device';

const MAX_EXAMINED = 512;

/** First match wins: a UA names the engines it claims compatibility with after its own. */
const BROWSERS: ReadonlyArray<readonly [name: string, markers: readonly string[]]> = [
  ['Edge', ['Edg/', 'EdgA/', 'EdgiOS/', 'Edge/']],
  ['Opera', ['OPR/', 'OPiOS/', 'Opera']],
  ['Samsung Internet', ['SamsungBrowser/']],
  ['Vivaldi', ['Vivaldi/']],
  ['Firefox', ['Firefox/', 'FxiOS/']],
  ['Chrome', ['CriOS/', 'HeadlessChrome/', 'Chrome/']],
  ['Chromium', ['Chromium/']],
  ['Safari', ['Version/']],
];

const SYSTEMS: ReadonlyArray<readonly [name: string, markers: readonly string[]]> = [
  ['iPhone', ['iPhone']],
  ['iPad', ['iPad']],
  ['Android', ['Android']],
  ['Windows', ['Windows']],
  ['ChromeOS', ['CrOS']],
  ['macOS', ['Macintosh', 'Mac OS X']],
  ['Linux', ['Linux', 'X11']],
];

/** The label for a User-Agent header value (absent, empty or unrecognised: "Unknown device"). */
export function deviceLabel(userAgent: string | undefined): string {
  if (typeof userAgent !== 'string' || userAgent === '') return UNKNOWN_DEVICE;
  const examined = userAgent.slice(0, MAX_EXAMINED);
  const os = firstMatch(SYSTEMS, examined);
  // "Version/" alone is Safari only next to WebKit's "Safari/" (other apps use "Version/" too).
  const browser = firstMatch(BROWSERS, examined, (name) => name !== 'Safari' || examined.includes('Safari/'));
  if (browser !== undefined && os !== undefined) return `${browser} on ${os}`;
  if (browser !== undefined) return browser;
  if (os !== undefined) return `Unknown browser on ${os}`;
  return UNKNOWN_DEVICE;
}

/** Every label `deviceLabel` can produce has this shape; a stored value that does not is not shown. */
const LABEL = /^[A-Za-z ]{1,48}$/;

/** A stored label, checked again where it is emitted (a stored value is input too). */
export function shownDeviceLabel(stored: unknown): string {
  return typeof stored === 'string' && LABEL.test(stored) ? stored : UNKNOWN_DEVICE;
}

function firstMatch(table: typeof BROWSERS, text: string, accept: (name: string) => boolean = () => true): string | undefined {
  for (const [name, markers] of table) {
    if (markers.some((marker) => text.includes(marker)) && accept(name)) return name;
  }
  return undefined;
}
