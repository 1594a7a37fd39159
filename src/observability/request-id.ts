import { randomUUID } from 'node:crypto';

/** A request id a client or an ingress may choose: up to 128 of `[A-Za-z0-9._:-]`. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The incoming `X-Request-Id` when it is sane, otherwise a fresh random UUID. */
export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}
