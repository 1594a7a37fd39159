import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { safeUrl, scrubText } from './scrub.ts';
import { ERROR_CODE_SHAPE, serializeError } from './serialize-error.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable lines (pino-pretty, in-process) for `tokengate dev`. Default: JSON. */
  pretty?: boolean;
  /** Where lines go. Default: stdout. Tests pass a Writable to capture every line. */
  destination?: DestinationStream | NodeJS.WritableStream;
}

/**
 * Keys whose values are secrets wherever they turn up. Redaction is the backstop: types that
 * hold secrets print '[present]' themselves (src/secret.ts), and nothing should log them.
 */
export const SECRET_KEYS = [
  'accessToken',
  'refreshToken',
  'idToken',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'client_secret',
  'clientSecret',
  'password',
  'logout_token',
  'state',
  'code_verifier',
] as const;

/** Top-level keys whose values go through serializeError. */
const ERROR_KEYS = ['err', 'error'] as const;
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'] as const;
const HEADER_PARENTS = ['req.headers', 'res.headers', 'headers', '*.headers'] as const;

export const CENSOR = '[redacted]';

/** Every redaction path: secret keys at the top level and one or two levels deep, and headers. */
export function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) paths.push(key, `*.${key}`, `*.*.${key}`);
  for (const parent of HEADER_PARENTS) {
    for (const header of SECRET_HEADERS) paths.push(`${parent}["${header}"]`);
  }
  // Named so the censor sees `err`/`error` as the root of the path (a wildcard hides it).
  for (const root of ERROR_KEYS) paths.push(`${root}.code`, `${root}.*.code`);
  return paths;
}

/**
 * The censor. One exception: `code` under `err`/`error` is the error code serializeError kept
 * (`STORE_UNAVAILABLE`, `ECONNREFUSED`), already checked against the error-code shape; an OAuth
 * authorization code never has that shape. Everywhere else a `code` is censored, so log an
 * error code on its own as `errorCode`.
 */
function censor(value: unknown, path: string[]): unknown {
  const [root] = path;
  const last = path[path.length - 1];
  if (ERROR_KEYS.some((key) => key === root) && last === 'code' && typeof value === 'string' && ERROR_CODE_SHAPE.test(value)) {
    return value;
  }
  return CENSOR;
}

/** `err`/`error` values: errors through serializeError; a plain string is scrubbed and kept. */
function errorSerializer(value: unknown): unknown {
  return typeof value === 'string' ? scrubText(value) : serializeError(value);
}

function urlSerializer(value: unknown): unknown {
  return typeof value === 'string' || value instanceof URL ? safeUrl(value) : value;
}

/**
 * The process logger. JSON lines (level as a label, ISO time) unless `pretty`. Errors logged as
 * `err` or `error` go through serializeError; `url` values lose their query strings.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.pretty ? prettyStream(options.destination) : options.destination;
  const settings = {
    level: options.level ?? 'info',
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: { err: errorSerializer, error: errorSerializer, url: urlSerializer },
    redact: { paths: redactPaths(), censor },
  };
  return stream === undefined ? pino(settings) : pino(settings, stream as DestinationStream);
}

/** pino-pretty as an in-process stream (not a worker-thread transport), synchronous. */
function prettyStream(destination: LoggerOptions['destination']): DestinationStream {
  return pretty({
    destination: destination ?? 1,
    sync: true,
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
}
