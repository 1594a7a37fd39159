import type { Logger } from 'pino';
import { createLogger, type LogLevel } from '../../../src/observability/logger.ts';
import type { LeakWatch } from './leak-watch.ts';

/** The gateway's own logger (same redaction and serializers), writing into a LeakWatch. */
export function testLogger(watch: LeakWatch, level: LogLevel = 'info'): Logger {
  return createLogger({ level, destination: watch.destination });
}
