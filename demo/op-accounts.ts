import { createHash, timingSafeEqual } from 'node:crypto';
import type { Account, FindAccount } from 'oidc-provider';

/** A user of the demo OpenID Provider. The password lives only in this fixture's memory. */
export interface OpenIdUser {
  sub: string;
  username: string;
  password: string;
  name?: string;
  email?: string;
}

export const DEMO_USER: Readonly<OpenIdUser> = Object.freeze({
  sub: 'demo-user',
  username: 'demo',
  password: 'demo',
  name: 'Demo User',
  email: 'demo@example.test',
});

export interface Accounts {
  /** The user with this username and password, or undefined. Compares passwords in constant time. */
  authenticate(username: string, password: string): OpenIdUser | undefined;
  findAccount: FindAccount;
}

function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}

export function createAccounts(users: readonly OpenIdUser[]): Accounts {
  const bySub = new Map(users.map((user) => [user.sub, user]));
  const byUsername = new Map(users.map((user) => [user.username, user]));

  const toAccount = (user: OpenIdUser): Account => ({
    accountId: user.sub,
    async claims() {
      return {
        sub: user.sub,
        preferred_username: user.username,
        ...(user.name === undefined ? {} : { name: user.name }),
        ...(user.email === undefined ? {} : { email: user.email, email_verified: true }),
      };
    },
  });

  return {
    authenticate(username, password) {
      const user = byUsername.get(username);
      // Compare even for an unknown user, so both failures take the same time.
      const matches = sameSecret(password, user?.password ?? '\u0000no-such-user');
      return user !== undefined && matches ? user : undefined;
    },
    async findAccount(_ctx, sub) {
      const user = bySub.get(sub);
      return user === undefined ? undefined : toAccount(user);
    },
  };
}
