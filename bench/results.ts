import type { LatencySummary } from './latency.ts';

/** The shape of bench/results/latest.json. Times are milliseconds, memory megabytes. */
export type RowId = 'a' | 'b' | 'u' | 'c' | 'd' | 'p' | 'm';

export interface RowResult {
  id: RowId;
  label: string;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  latency: LatencySummary;
  /** Throughput divided by row (b)'s. */
  ratioToB: number;
  /** Peak RSS of the process under test (the gateway for (c) and (d)). */
  peakRssMb?: number;
  /** CPU time of the process under test per request served, microseconds (Linux only); every process of it (Apache's children too). */
  cpuUsPerRequest?: number;
  /** CPU time redis-server used per request served during the row, microseconds (rows that use Redis). */
  redisCpuUsPerRequest?: number;
}

/** A row that could not run here, and why (e.g. Apache not installed). */
export interface SkippedRow {
  id: RowId;
  label: string;
  reason: string;
}

/** The near cache's bound: a logout on replica A, then at once a request on replica B. */
export interface InvalidationResult {
  trials: number;
  /** Trials where B still answered 200 after A's logout had returned. */
  stale: number;
  /** From A's logout answer to B's answer, ms. */
  delayMs: LatencySummary;
}

export interface FixedRateResult {
  /** Requests per second: half of (b)'s maximum. */
  rate: number;
  b: LatencySummary;
  c: LatencySummary;
  /** c.p50 - b.p50 */
  addedP50Ms: number;
  /** Requests sent at the rate, and those not answered 2xx (a setup that cannot keep up fails some). */
  requests: { b: number; c: number };
  failures: { b: number; c: number };
}

export interface RedisResult {
  /** Requests row (c) served while the commands were counted. */
  requests: number;
  /** Commands per name during row (c). */
  commands: Record<string, number>;
  commandsPerRequest: number;
  /** Sequential requests (one in flight) used to count round trips. */
  probeRequests: number;
  /** Read events Redis processed per sequential request: a pipeline or a script is one. */
  roundTripsPerRequest: number;
}

export interface StormResult {
  requests: number;
  instances: number;
  /** The provider's artificial token-endpoint latency, the reference for p99. */
  tokenEndpointDelayMs: number;
  /** Refresh-token grants the provider served during the storm. */
  refreshGrants: number;
  /** Refresh-token reuse the provider detected during the storm. */
  refreshReuse: number;
  /** Response status → count. */
  statuses: Record<string, number>;
  latency: LatencySummary;
  /** The same burst while the token was still fresh (no refresh): the reference for `latency`. */
  freshTokenBurst: { statuses: Record<string, number>; latency: LatencySummary };
  /** How far past the access token's expiry the storm started. */
  startedAfterExpiryMs: number;
}

export interface TargetCheck {
  name: string;
  target: string;
  actual: string;
  holds: boolean;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  /** 1-minute load average before and after the run: a busy machine makes every number worse. */
  loadAverage: { start: number; end: number };
}

export interface BenchSettings {
  durationS: number;
  warmupS: number;
  connections: number;
  stormRequests: number;
  smoke: boolean;
  gatewayLogLevel: string;
  /** What the gateway processes ran: JavaScript compiled by tsc (as in production), or the TypeScript source. Absent in older results (source). */
  gatewayBuild?: 'compiled' | 'source';
  /** Extra Node flags the gateway processes ran with (--gateway-node-options). Absent in older results. */
  gatewayNodeOptions?: string[];
}

export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  settings: BenchSettings;
  rows: RowResult[];
  /** Rows that did not run, with the reason. Absent in older results. */
  skipped?: SkippedRow[];
  /** The issue's comparison: (b) and (c) at half of (b)'s maximum rate. */
  fixedRate: FixedRateResult;
  /** Present when (c) is slower than (b): the same comparison at half of (c)'s maximum, where neither queues. */
  fixedRateAtHalfOfC?: FixedRateResult;
  redis: RedisResult;
  /** Highest peak RSS of any gateway process in the run. */
  gatewayPeakRssMb: number;
  storm: StormResult;
  /** Absent in older results. */
  invalidation?: InvalidationResult;
  targets: TargetCheck[];
}
