import { BadRequestError } from '../errors.ts';
import type { LogoutTokenClaims } from './types.ts';

/**
 * What Google, GitHub and Discord have in common: endpoints fixed in code, so there is nothing to
 * discover (ready at once, `init` does nothing), no end-session endpoint and no back-channel
 * logout.
 */
export abstract class FixedEndpointsProvider {
  readonly id: string;
  readonly ready = true;

  constructor(id: string) {
    this.id = id;
  }

  async init(): Promise<void> {}

  endSessionUrl(): URL | undefined {
    return undefined;
  }

  async verifyLogoutToken(): Promise<LogoutTokenClaims> {
    throw new BadRequestError(`${this.id} does not support back-channel logout`);
  }
}
