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
    const results = await Promise.all(checks.map((entry) => passes(entry.check, timeoutMs)));
    const failing = checks.filter((_entry, index) => !results[index]).map((entry) => entry.name);
    if (draining) failing.push(DRAINING);
    return { ready: failing.length === 0, failing };
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

/** True when `check` resolves within `timeoutMs`. Never rejects; a late check is left to settle. */
function passes(check: () => Promise<void>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const settle = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    try {
      check().then(
        () => settle(true),
        () => settle(false),
      );
    } catch {
      settle(false);
    }
  });
}
