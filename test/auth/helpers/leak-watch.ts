import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Keyring } from '../../../src/crypto/keyring.ts';
import type { Store } from '../../../src/store/types.ts';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The leak check's evidence: every log line the gateway writes (as the logger's destination)
 * and every response header and body chunk it sends to the browser (tapped at the server), and
 * the set of token values known to exist. `leaks()` lists every place a token value shows up.
 */
export class LeakWatch {
  readonly logLines: string[] = [];
  readonly responses: string[] = [];
  readonly #secrets = new Set<string>();

  /** A pino destination that keeps every line. */
  readonly destination = {
    write: (line: string): void => {
      this.logLines.push(line);
    },
  };

  get secretCount(): number {
    return this.#secrets.size;
  }

  addSecret(...values: Array<string | undefined>): void {
    for (const value of values) if (value !== undefined && value.length >= 8) this.#secrets.add(value);
  }

  /** Opens a session's sealed tokens with the gateway's keyring and remembers their values. */
  async collectSessionTokens(store: Store, keyring: Keyring, sid: string): Promise<{ accessToken: string; refreshToken?: string; idToken?: string } | null> {
    const stored = await store.getTokens(sid);
    if (stored === null) return null;
    const accessToken = keyring.open(stored.accessToken, sid, 'access');
    const refreshToken = stored.refreshToken === undefined ? undefined : keyring.open(stored.refreshToken, sid, 'refresh');
    const idToken = stored.idToken === undefined ? undefined : keyring.open(stored.idToken, sid, 'id');
    this.addSecret(accessToken, refreshToken, idToken);
    return { accessToken, ...(refreshToken === undefined ? {} : { refreshToken }), ...(idToken === undefined ? {} : { idToken }) };
  }

  /** Wraps a request listener so that everything written to the response is recorded. */
  tap(listener: Listener): Listener {
    return (req, res) => {
      this.#record(res);
      listener(req, res);
    };
  }

  leaks(): string[] {
    const found: string[] = [];
    for (const secret of this.#secrets) {
      const variants = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
      for (const line of this.logLines) if (variants.some((variant) => line.includes(variant))) found.push(`log line: ${line.slice(0, 120)}`);
      for (const chunk of this.responses) if (variants.some((variant) => chunk.includes(variant))) found.push(`response: ${chunk.slice(0, 120)}`);
    }
    return found;
  }

  #record(res: ServerResponse): void {
    const keep = (what: unknown) => {
      if (typeof what === 'string') this.responses.push(what);
      else if (Buffer.isBuffer(what) || what instanceof Uint8Array) this.responses.push(Buffer.from(what).toString('utf8'));
      else if (what !== undefined && what !== null && typeof what !== 'function') this.responses.push(JSON.stringify(what));
    };
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name: string, value: number | string | readonly string[]) => {
      keep(`${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`);
      return setHeader(name, value);
    };
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = ((...args: unknown[]) => {
      args.slice(1).forEach(keep);
      return writeHead(...args);
    }) as ServerResponse['writeHead'];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      keep(args[0]);
      return write(...args);
    }) as ServerResponse['write'];
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      keep(args[0]);
      return end(...args);
    }) as ServerResponse['end'];
  }
}
