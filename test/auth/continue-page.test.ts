import { describe, expect, it } from 'vitest';
import { continuePageHtml, escapeAttribute } from '../../src/auth/continue-page.ts';
import { safeReturnTo } from '../../src/auth/return-to.ts';
import type { BrowserResponse } from '../support/http.ts';
import { decodeEntities, metaRefreshTarget } from '../support/login.ts';

/**
 * The page the callback answers with: it goes on to returnTo through a meta refresh and a plain
 * link, both the exact returnTo once the HTML attribute is decoded, whatever characters a
 * validated returnTo may hold.
 */

const ORIGIN = 'https://app.example.com';

function asResponse(html: string): BrowserResponse {
  return {
    url: `${ORIGIN}/auth/callback/op?code=c&state=s`,
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: Buffer.from(html),
    text: html,
    setCookies: [],
    location: undefined,
    json: () => JSON.parse(html),
  };
}

function linkHref(html: string): string {
  const match = /<a href="([^"]*)">/.exec(html);
  expect(match).not.toBeNull();
  return new URL(decodeEntities(match![1]!), ORIGIN).href;
}

describe('the continue page', () => {
  it.each([
    ['/'],
    ['/dashboard?tab=1'],
    ["/it's/here?a=1&b=2#part"],
    ['/search?q="><script>alert(1)</script>'],
    ['/x?next=/y&z=%22%3C'],
  ])('sends %s on to exactly the validated returnTo, by refresh and by link', (raw) => {
    const returnTo = safeReturnTo(raw, ORIGIN);
    const html = continuePageHtml(returnTo);
    expect(metaRefreshTarget(asResponse(html))).toBe(new URL(returnTo, ORIGIN).href);
    expect(linkHref(html)).toBe(new URL(returnTo, ORIGIN).href);
  });

  it('leaves no markup of returnTo unescaped, and holds no script', () => {
    const html = continuePageHtml("/a'b\"c<d>e&f");
    expect(html).toContain('content="0;url=/a&#39;b&quot;c&lt;d&gt;e&amp;f"');
    expect(html).not.toMatch(/<script/i);
    expect(html.match(/<[a-z!/]/gi)?.length).toBe(continuePageHtml('/').match(/<[a-z!/]/gi)?.length);
  });

  it('escapes every character that matters in an attribute', () => {
    expect(escapeAttribute(`&"'<>/=`)).toBe('&amp;&quot;&#39;&lt;&gt;/=');
  });
});
