import { describe, expect, it } from 'vitest';
import { deviceLabel, shownDeviceLabel, UNKNOWN_DEVICE } from '../../src/auth/device-label.ts';

/** Real User-Agent strings of current browsers, and what a person would call each device. */
const CASES: Array<[label: string, userAgent: string]> = [
  ['Firefox on Linux', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'],
  ['Firefox on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'],
  ['Firefox on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0'],
  ['Firefox on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15'],
  ['Firefox on Android', 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0'],
  ['Chrome on Android', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'],
  ['Chrome on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
  ['Chrome on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
  ['Chrome on Linux', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36'],
  ['Chrome on ChromeOS', 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
  ['Chrome on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1'],
  ['Safari on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'],
  ['Safari on iPad', 'Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1'],
  ['Safari on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15'],
  ['Edge on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70'],
  ['Edge on Android', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.68'],
  ['Opera on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0'],
  ['Samsung Internet on Android', 'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36'],
];

describe('device labels from the login User-Agent', () => {
  it.each(CASES)('%s', (label, userAgent) => {
    expect(deviceLabel(userAgent)).toBe(label);
  });

  it('an absent, empty or unrecognised header is "Unknown device"', () => {
    expect(deviceLabel(undefined)).toBe(UNKNOWN_DEVICE);
    expect(deviceLabel('')).toBe(UNKNOWN_DEVICE);
    expect(deviceLabel('curl/8.11.0')).toBe(UNKNOWN_DEVICE);
    expect(deviceLabel('node')).toBe(UNKNOWN_DEVICE);
  });

  it('a known system with an unknown client names the system only', () => {
    expect(deviceLabel('okhttp/4.12.0 (Linux; Android 14)')).toBe('Unknown browser on Android');
  });

  it('"Version/" without WebKit\'s "Safari/" is not Safari', () => {
    expect(deviceLabel('SomeApp Version/2.0 (Windows NT 10.0)')).toBe('Unknown browser on Windows');
  });

  it('never carries client text, and looks only at the start of a huge header', () => {
    const hostile = `<script>alert(1)</script> ${'A'.repeat(100_000)} Firefox/128.0 (X11; Linux)`;
    expect(deviceLabel(hostile)).toBe(UNKNOWN_DEVICE);
    const started = performance.now();
    for (let index = 0; index < 100; index += 1) deviceLabel(`${'Mozilla/5.0 ('.repeat(20_000)}`);
    expect(performance.now() - started).toBeLessThan(1_000);
    for (const [, userAgent] of CASES) expect(deviceLabel(userAgent)).toMatch(/^[A-Za-z ]+$/);
  });

  it('a stored label is shown only in the shape deviceLabel produces', () => {
    expect(shownDeviceLabel('Firefox on Linux')).toBe('Firefox on Linux');
    expect(shownDeviceLabel('<img src=x onerror=alert(1)>')).toBe(UNKNOWN_DEVICE);
    expect(shownDeviceLabel(undefined)).toBe(UNKNOWN_DEVICE);
    expect(shownDeviceLabel(42)).toBe(UNKNOWN_DEVICE);
    expect(shownDeviceLabel('x'.repeat(49))).toBe(UNKNOWN_DEVICE);
  });
});
