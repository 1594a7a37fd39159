import { ReauthenticationRequiredError } from '../errors.ts';
import type { ClientSide, HeldResponse } from './engine.ts';

/**
 * Sends a held upstream response (see HeldResponse) to the client as it is, with the same header
 * policy as a streamed one. A body that was too large to hold cannot be sent whole: the request
 * is answered 401 REAUTHENTICATION_REQUIRED instead.
 */
export function deliverHeld(client: ClientSide, held: HeldResponse): void {
  if (!held.complete) throw new ReauthenticationRequiredError();
  const { res } = client;
  if (res.destroyed) return;
  res.writeHead(held.status, held.statusMessage, client.responseHeaders(held.headers));
  client.onHead(held.status);
  res.end(Buffer.concat(held.body));
}
