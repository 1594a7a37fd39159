import type { CookieJar } from 'tough-cookie';
import { BrowserClient, type BrowserRequestInit, type BrowserResponse } from './http.ts';

/**
 * Logs a browser in through a gateway using nothing but standard redirects, the provider's own
 * HTML forms and meta refresh: GET the start URL, follow redirects to the provider, fill in its
 * login form (`login` / `password` inputs) and submit its consent form, follow the redirects
 * back, follow the callback page's meta refresh (a navigation started by that page, so from
 * its own site), and stop at the first response on the start URL's origin that is neither a
 * redirect nor a refresh (or at a provider page that is not a 200 form page, e.g. a rejected
 * password).
 */

export interface HtmlForm {
  /** Absolute URL the form submits to. */
  action: string;
  method: 'GET' | 'POST';
  /** Successful controls in document order (hidden and text inputs, checked boxes, the first named submit button). */
  fields: Array<[string, string]>;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface LoginResult {
  client: BrowserClient;
  jar: CookieJar;
  finalUrl: string;
  status: number;
  response: BrowserResponse;
  /** Every response on the way, in order. */
  chain: BrowserResponse[];
  /** One request from this browser (its cookies in, Set-Cookie recorded and stored), redirects not followed. */
  request(url: string | URL, init?: BrowserRequestInit): Promise<BrowserResponse>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#x2F': '/', '#47': '/' };

/** Decodes the character references an attribute value may hold. */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x?[0-9a-fA-F]+|[a-z]+);/g, (whole, name: string) => {
    if (ENTITIES[name] !== undefined) return ENTITIES[name];
    if (name.startsWith('#x')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    return whole;
  });
}

function attributes(tag: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const match of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    const name = match[1];
    if (name === undefined) continue;
    attrs.set(name.toLowerCase(), decodeEntities(match[2] ?? match[3] ?? match[4] ?? ''));
  }
  return attrs;
}

/** The forms of an HTML page (a deliberately small parser: the provider's pages are simple). */
export function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const formAttrs = attributes(match[1] ?? '');
    const content = match[2] ?? '';
    const fields: Array<[string, string]> = [];
    for (const input of content.matchAll(/<input\b([^>]*)>/gi)) {
      const attrs = attributes(input[1] ?? '');
      const name = attrs.get('name');
      const type = (attrs.get('type') ?? 'text').toLowerCase();
      if (name === undefined || attrs.has('disabled') || ['submit', 'button', 'image', 'reset', 'file'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !attrs.has('checked')) continue;
      fields.push([name, attrs.get('value') ?? (type === 'checkbox' || type === 'radio' ? 'on' : '')]);
    }
    for (const button of content.matchAll(/<button\b([^>]*)>/gi)) {
      const attrs = attributes(button[1] ?? '');
      if ((attrs.get('type') ?? 'submit').toLowerCase() !== 'submit') continue;
      const name = attrs.get('name');
      if (name !== undefined) fields.push([name, attrs.get('value') ?? '']);
      break;
    }
    const method = (formAttrs.get('method') ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET';
    forms.push({ action: new URL(formAttrs.get('action') || pageUrl, pageUrl).href, method, fields });
  }
  return forms;
}

/** Fills `login` / `password` inputs with the credentials; other fields keep their values. */
export function fillCredentials(form: HtmlForm, credentials: Credentials): HtmlForm {
  return {
    ...form,
    fields: form.fields.map(([name, value]): [string, string] => {
      if (name === 'login') return [name, credentials.username];
      if (name === 'password') return [name, credentials.password];
      return [name, value];
    }),
  };
}

/** Submits a form like a browser (POST as a urlencoded body, GET as a query) and follows the redirects. */
export async function submitForm(client: BrowserClient, form: HtmlForm, pageUrl: string): Promise<{ response: BrowserResponse; chain: BrowserResponse[] }> {
  const data = new URLSearchParams(form.fields);
  const initiator = new URL(pageUrl).origin;
  if (form.method === 'POST') return client.navigate(form.action, { method: 'POST', body: data, initiator });
  const target = new URL(form.action);
  target.search = data.toString();
  return client.navigate(target, { initiator });
}

function isHtml(response: BrowserResponse): boolean {
  return /\btext\/html\b/i.test(String(response.headers['content-type'] ?? ''));
}

/**
 * From a provider page, submits the provider's first form (credentials filled in) and follows
 * on, until a response arrives on `homeOrigin` or a provider page is not a 200 HTML page with a
 * form. Used for login, consent and the provider's logout confirmation.
 */
export async function completeProviderForms(
  client: BrowserClient,
  start: { response: BrowserResponse; chain: BrowserResponse[] },
  homeOrigin: string,
  credentials: Credentials | undefined,
  maxForms = 5,
): Promise<{ response: BrowserResponse; chain: BrowserResponse[] }> {
  let { response } = start;
  const chain = [...start.chain];
  for (let submitted = 0; new URL(response.url).origin !== homeOrigin; submitted += 1) {
    if (response.status !== 200 || !isHtml(response)) break;
    const form = parseForms(response.text, response.url)[0];
    if (form === undefined) break;
    if (submitted === maxForms) throw new Error(`the provider showed more than ${maxForms} forms`);
    const filled = credentials === undefined ? form : fillCredentials(form, credentials);
    const next = await submitForm(client, filled, response.url);
    chain.push(...next.chain);
    response = next.response;
  }
  return { response, chain };
}

const MAX_REFRESHES = 5;

/**
 * The target of a `<meta http-equiv="refresh" content="N;url=...">` in a 200 HTML page, as a
 * browser reads it (entities decoded, optional quotes around the URL), resolved against the
 * page's URL; undefined when the page has none.
 */
export function metaRefreshTarget(response: BrowserResponse): string | undefined {
  if (response.status !== 200 || !isHtml(response)) return undefined;
  for (const match of response.text.matchAll(/<meta\b([^>]*)>/gi)) {
    const attrs = attributes(match[1] ?? '');
    if (attrs.get('http-equiv')?.toLowerCase() !== 'refresh') continue;
    const parsed = /^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(.*)$/is.exec(attrs.get('content') ?? '');
    let url = parsed?.[1]?.trim() ?? '';
    const quote = url[0];
    if (quote === '"' || quote === "'") url = url.slice(1, url.indexOf(quote, 1) < 0 ? undefined : url.indexOf(quote, 1));
    return url === '' ? undefined : new URL(url, response.url).href;
  }
  return undefined;
}

/** Follows meta refreshes like a browser: each one a navigation started by the refreshing page. */
export async function followMetaRefresh(
  client: BrowserClient,
  start: { response: BrowserResponse; chain: BrowserResponse[] },
): Promise<{ response: BrowserResponse; chain: BrowserResponse[] }> {
  let { response } = start;
  const chain = [...start.chain];
  for (let target = metaRefreshTarget(response), count = 0; target !== undefined; target = metaRefreshTarget(response), count += 1) {
    if (count === MAX_REFRESHES) throw new Error(`more than ${MAX_REFRESHES} meta refreshes`);
    const next = await client.navigate(target, { initiator: new URL(response.url).origin });
    chain.push(...next.chain);
    response = next.response;
  }
  return { response, chain };
}

export async function loginThroughGateway(
  startUrl: string,
  credentials: Credentials,
  options: { client?: BrowserClient } = {},
): Promise<LoginResult> {
  const client = options.client ?? new BrowserClient();
  const homeOrigin = new URL(startUrl).origin;
  const back = await completeProviderForms(client, await client.navigate(startUrl), homeOrigin, credentials);
  const { response, chain } = new URL(back.response.url).origin === homeOrigin ? await followMetaRefresh(client, back) : back;
  return {
    client,
    jar: client.jar,
    finalUrl: response.url,
    status: response.status,
    response,
    chain,
    request: (url, init) => client.request(url, init),
  };
}
