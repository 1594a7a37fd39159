import { openTokenSet, type OpenTokenSet } from '../../src/tokens/token-set.ts';
import type { GatewayStack, StackProvider } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';

/** The sid in a logged-in browser's jar (the value of the gateway's session cookie). */
export async function sidOf(browser: LoginResult, stack: Pick<GatewayStack<StackProvider>, 'url' | 'instances'>): Promise<string> {
  const cookies = await browser.jar.getCookies(stack.url);
  const session = cookies.find((cookie) => cookie.key === stack.instances[0]!.gateway.cookies.session.name);
  if (session === undefined) throw new Error('the browser has no session cookie');
  return session.value;
}

/** What the store holds for the browser's session, opened with the gateway's keyring (test-side only). */
export async function storedTokens(stack: Pick<GatewayStack<StackProvider>, 'url' | 'instances'>, browser: LoginResult): Promise<OpenTokenSet | null> {
  const { gateway } = stack.instances[0]!;
  const sid = await sidOf(browser, stack);
  const stored = await gateway.store.getTokens(sid);
  return stored === null ? null : openTokenSet(gateway.keyring, sid, stored);
}
