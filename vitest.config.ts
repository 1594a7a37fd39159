import { defineConfig } from 'vitest/config';

/**
 * Three tiers, each a vitest project (`npm run test:unit`, `test:integration`, `test:e2e`;
 * `npm test` runs all three):
 *
 * - unit: files named `*.unit.test.ts`, anywhere under test/ beside their module's other tests.
 *   Pure logic: no child process, no listening server, no Redis, no provider, no network.
 * - e2e: whole programs as a user runs them, in the directories below: `tokengate` CLI processes
 *   (test/cli, test/ops), headless Chromium (test/browser), the deploy artefacts (test/deploy),
 *   and the chaos and bench smoke runs. Longer timeouts.
 * - integration: every other test file: real servers on port 0, redis-server, the oidc-provider
 *   package, msw for Google, GitHub and Discord, all in the test process or beside it.
 *
 * The unit suffix wins over an e2e directory; a file with neither is integration.
 */

const ALL = ['test/**/*.test.ts'];
const UNIT = ['test/**/*.unit.test.ts'];
const E2E = ['test/cli/**/*.test.ts', 'test/ops/**/*.test.ts', 'test/browser/**/*.test.ts', 'test/deploy/**/*.test.ts', 'test/chaos/**/*.test.ts', 'test/bench/smoke.test.ts'];

export default defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    // Generous for a unit test, on purpose: two of them are pure-logic stress runs (100,000 seals,
    // an hour of logins at 500/s) that take seconds, more on a loaded 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT, setupFiles: ['test/support/unit-guard.ts'] } },
      { extends: true, test: { name: 'integration', include: ALL, exclude: [...UNIT, ...E2E] } },
      { extends: true, test: { name: 'e2e', include: E2E, exclude: UNIT, testTimeout: 60_000, hookTimeout: 120_000 } },
    ],
  },
});
