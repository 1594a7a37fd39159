import { destination, pino, stdTimeFunctions, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redactSecrets } from './redact.ts';
import { safeUrl, scrubText } from './scrub.ts';
import { serializeError } from './serialize-error.ts';

export { CENSOR, SECRET_KEYS } from './redact.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable lines (pino-pretty, in-process) for `tokengate dev`. Default: JSON. */
  pretty?: boolean;
  /**
   * Where lines go. Default: stdout, written asynchronously (see createLogger). Tests pass a
   * Writable to capture every line.
   */
  destination?: DestinationStream | NodeJS.WritableStream;
}

/** Top-level keys whose values go through serializeError (an allowlist) instead of redaction. */
const ERROR_KEYS: ReadonlySet<string> = new Set(['err', 'error']);

/** `err`/`error` values: errors through serializeError; a plain string is scrubbed and kept. */
function errorSerializer(value: unknown): unknown {
  return typeof value === 'string' ? scrubText(value) : serializeError(value);
}

function urlSerializer(value: unknown): unknown {
  return typeof value === 'string' || value instanceof URL ? safeUrl(value) : value;
}

/**
 * The process logger. JSON lines (level as a label, ISO time) unless `pretty`. By default they go
 * to stdout through an asynchronous destination (sonic-boom, `sync: false`): the write happens
 * off the request's path, and lines logged while one is in flight go out together in the next.
 * Lines are not held back to batch them further: building a line, not writing it, is the cost.
 * pino writes what is pending synchronously when the process exits (its 'exit' hook, also on
 * `process.exit`), so no line is lost at exit. Errors logged as `err` or `error` go through
 * serializeError; `url` values lose their query strings; every other value, and every child
 * logger's bindings, through redactSecrets (see redact.ts).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.pretty ? prettyStream(options.destination) : (options.destination ?? destination({ dest: 1, sync: false }));
  const settings = {
    level: options.level ?? 'info',
    timestamp: stdTimeFunctions.isoTime,
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (object: Record<string, unknown>) => redactSecrets(object, { skip: ERROR_KEYS }),
    },
    serializers: { err: errorSerializer, error: errorSerializer, url: urlSerializer },
  };
  const logger = pino(settings, stream as DestinationStream);
  return redactingBindings(logger);
}

/**
 * pino passes a child's bindings through no formatter of ours, so they are redacted here: the
 * root's `child` and `setBindings` are replaced on the instance, and every child (whose
 * prototype is its parent) inherits the replacements.
 */
function redactingBindings(logger: Logger): Logger {
  // pino's own generic signatures do not survive being stored and re-assigned; the shapes are these.
  const child = logger.child as unknown as (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  const setBindings = logger.setBindings as (this: Logger, bindings: Bindings) => void;
  const redacted = (bindings: Bindings) => redactSecrets(bindings, { skip: ERROR_KEYS });
  logger.child = function redactedChild(this: Logger, bindings: Bindings, options?: ChildLoggerOptions) {
    return child.call(this, redacted(bindings), options);
  } as unknown as Logger['child'];
  logger.setBindings = function redactedSetBindings(this: Logger, bindings: Bindings) {
    setBindings.call(this, redacted(bindings));
  };
  return logger;
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
