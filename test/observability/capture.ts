import { Writable } from 'node:stream';
import { createLogger, type LoggerOptions } from '../../src/observability/logger.ts';

/** A logger whose every line is kept: `raw` is all text written, `lines` the parsed JSON lines. */
export interface CapturedLog {
  logger: ReturnType<typeof createLogger>;
  readonly raw: string;
  lines(): Record<string, unknown>[];
}

export function captureLogger(options: Omit<LoggerOptions, 'destination'> = {}): CapturedLog {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level: 'trace', ...options, destination });
  return {
    logger,
    get raw() {
      return chunks.join('');
    },
    lines() {
      return chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}
