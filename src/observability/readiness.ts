import { GatewayError } from '../errors.ts';

/**
 * Readiness: may this replica take traffic? Every check runs on each probe, in parallel, each
 * bounded by `timeoutMs`; a check that rejects or does not settle in time is failing. Once
 * `setDraining()` is called (shutdown has begun) the replica is not ready whatever the checks say,
 * so the load balancer stops sending it new requests while in-flight ones finish.
 */

export interface ReadinessCheck {
  /** Shown in the /readyz answer when failing, e.g. `store`. */
  name: string;
  check: () => Promise<void>;
}

export interface ReadinessOptions {
  checks: readonly ReadinessCheck[];
  /** Longest wait for one check. Default 2000 ms. */
  timeoutMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  /** Names of the failing checks, or `['draining']`. */
  failing: string[];
  /** Each check by name: ok, or why not (the error's own safe message, or the timeout). */
  checks?: Record<string, CheckResult>;
}

export interface CheckResult {
  ok: boolean;
  error?: string;
}

/** Call it to probe; `setDraining()` turns it not-ready for good. */
export interface Readiness {
  (): Promise<ReadinessReport>;
  setDraining(): void;
  isDraining(): boolean;
}

export const DRAINING = 'draining';

export function createReadiness(options: ReadinessOptions): Readiness {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const checks = [...options.checks];
  let draining = false;

  async function probe(): Promise<ReadinessReport> {
    if (draining) return { ready: false, failing: [DRAINING] };
    const results = await Promise.all(checks.map((entry) => run(entry.check, timeoutMs)));
    const failing = checks.filter((_entry, index) => !results[index]!.ok).map((entry) => entry.name);
    if (draining) failing.push(DRAINING);
    const byName = Object.fromEntries(checks.map((entry, index) => [entry.name, results[index]!]));
    return { ready: failing.length === 0, failing, checks: byName };
  }

  return Object.assign(probe, {
    setDraining(): void {
      draining = true;
    },
    isDraining(): boolean {
      return draining;
    },
  });
}

/** The outcome of `check` within `timeoutMs`. Never rejects; a late check is left to settle. */
function run(check: () => Promise<void>, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const settle = (result: CheckResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    try {
      check().then(
        () => settle({ ok: true }),
        (err: unknown) => settle({ ok: false, error: describeFailure(err) }),
      );
    } catch (err) {
      settle({ ok: false, error: describeFailure(err) });
    }
  });
}

/**
 * Why a check failed, in words safe for the ops listener: a GatewayError's own message (they
 * never hold a token, a secret or a URL with a query) plus its cause's error code; for anything
 * else only its name and code, since a foreign message may quote anything.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof GatewayError) {
    const code = codeOf(err.cause);
    return code === undefined || err.message.includes(code) ? err.message : `${err.message} (${code})`;
  }
  const code = codeOf(err);
  const name = err instanceof Error ? err.name : 'failed';
  return code === undefined ? name : `${name} (${code})`;
}

function codeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : undefined;
}
