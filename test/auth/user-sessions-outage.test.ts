import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.ts';
import type { Store } from '../../src/store/types.ts';
import type { SessionList } from '../../src/auth/list-sessions.ts';
import { BrowserClient } from '../support/http.ts';
import { loginThroughGateway, type LoginResult } from '../support/login.ts';
import { DEMO, PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * A store that stops answering while a user lists or ends sessions: 503 STORE_UNAVAILABLE, and
 * no session is lost (invariant 5). Each named method fails while it is in `failing`.
 */

const failing = new Set<string>();
let f: OidcFixture;
let laptop: LoginResult;
let phone: LoginResult;

function outageStore(inner: Store): Store {
  return new Proxy(inner, {
    get(target, property) {
      if (typeof property === 'string' && failing.has(property)) {
        return async () => {
          throw new StoreUnavailableError();
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  f = await startOidcFixture({ store: 'memory', wrapStore: outageStore });
  const start = `${f.origin}/auth/login?provider=${PROVIDER_ID}`;
  laptop = await loginThroughGateway(start, DEMO, { client: new BrowserClient({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' }) });
  phone = await loginThroughGateway(start, DEMO, { client: new BrowserClient({ userAgent: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36' }) });
});

afterAll(async () => {
  failing.clear();
  await f?.close();
});

describe('the user\'s sessions while the store is down', () => {
  it('listing answers 503 STORE_UNAVAILABLE', async () => {
    failing.add('describeUserSessions');
    try {
      const response = await laptop.request(`${f.origin}/auth/sessions`);
      expect(response.status).toBe(503);
      expect(response.json()).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      failing.clear();
    }
  });

  it.each(['listUserSessions', 'getTokens', 'destroySession'])('ending a session while %s fails answers 503 and ends nothing', async (method) => {
    const phoneSid = (await f.sidOf(phone.client))!;
    const handle = (await laptop.request(`${f.origin}/auth/sessions`)).json<SessionList>().sessions.find((entry) => !entry.current)!.handle;
    failing.add(method);
    try {
      const response = await laptop.request(`${f.origin}/auth/sessions/${handle}/logout`, { method: 'POST' });
      expect(response.status).toBe(503);
      expect(response.json()).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      failing.clear();
    }
    expect(await f.gateway.store.getSession(phoneSid)).not.toBeNull();
    expect((await phone.request(`${f.origin}/auth/session`)).status).toBe(200);
    expect((await laptop.request(`${f.origin}/auth/session`)).status).toBe(200);
  });
});
