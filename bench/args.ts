import { parseArgs } from 'node:util';

export interface BenchOptions {
  durationS: number;
  warmupS: number;
  connections: number;
  stormRequests: number;
  /** The provider's artificial token-endpoint latency. */
  tokenEndpointDelayMs: number;
  smoke: boolean;
  outDir: string;
  /** Directory for the CPU and allocation profiles of the gateway under row (c) load; none when undefined. */
  profileDir: string | undefined;
  gatewayLogLevel: LogLevel;
  /** Run the gateway from its TypeScript source instead of compiled JavaScript. */
  source: boolean;
  /** Extra Node flags for every gateway process, e.g. V8 heap sizing; none by default. */
  gatewayNodeOptions: string[];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const USAGE = `Usage: node bench/run.ts [options]
  --duration S        seconds per row (default 10; smoke: 1)
  --warmup S          unmeasured seconds before each row (default 2; smoke: 0.5)
  --connections N     concurrent connections for every row (default 50; smoke: 4)
  --storm N           concurrent requests in the refresh storm (default 200; smoke: 20)
  --token-delay MS    the provider's token-endpoint latency (default 50)
  --smoke             CI mode: short rows, few connections; checks only that it completes
  --out DIR           where latest.json and latest.svg go (default bench/results)
  --profile DIR       also run row (c) once more, profiled (CPU and allocations), into DIR
  --log-level LEVEL   the gateway's log level (default info, as configured in production)
  --source            run the gateway from its TypeScript source (default: compiled first, as in production)
  --gateway-node-options FLAGS
                      extra Node flags for the gateway processes, space-separated, e.g.
                      "--max-semi-space-size=8" (default: none, V8 sizes the heap itself)`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      storm: { type: 'string' },
      'token-delay': { type: 'string' },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
      profile: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      source: { type: 'boolean', default: false },
      'gateway-node-options': { type: 'string', default: '' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageRequested();
  const smoke = values.smoke;
  const level = values['log-level'];
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    durationS: positive('duration', values.duration, smoke ? 1 : 10),
    warmupS: positive('warmup', values.warmup, smoke ? 0.5 : 2, true),
    connections: Math.round(positive('connections', values.connections, smoke ? 4 : 50)),
    stormRequests: Math.round(positive('storm', values.storm, smoke ? 20 : 200)),
    tokenEndpointDelayMs: positive('token-delay', values['token-delay'], 50, true),
    smoke,
    outDir: values.out,
    profileDir: values.profile,
    gatewayLogLevel: level as LogLevel,
    source: values.source,
    gatewayNodeOptions: values['gateway-node-options'].split(/\s+/).filter((flag) => flag !== ''),
  };
}

export class UsageRequested extends Error {
  constructor() {
    super(USAGE);
  }
}

function positive(name: string, raw: string | undefined, fallback: number, zeroAllowed = false): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) throw new Error(`--${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number`);
  return value;
}
