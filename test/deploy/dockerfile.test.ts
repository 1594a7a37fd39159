import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The image's promises, read from the Dockerfile itself (no Docker engine runs here). */

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.filter((line) => line.startsWith('FROM '));
const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

describe('the Dockerfile', () => {
  it('is multi-stage on Node 24 slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^FROM node:24-slim\b/);
  });

  it('installs production dependencies only in the final stage, and copies the build output', () => {
    expect(runtime.some((line) => /^RUN npm ci\b.*--omit=dev/.test(line))).toBe(true);
    expect(runtime.some((line) => /^COPY --from=\S+ \/app\/dist/.test(line))).toBe(true);
  });

  it('runs as a non-root user', () => {
    const user = runtime.filter((line) => line.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
  });

  it('has a HEALTHCHECK on /healthz that needs no curl or wget', () => {
    const healthcheck = runtime.find((line) => line.startsWith('HEALTHCHECK '));
    expect(healthcheck).toMatch(/\/healthz/);
    expect(healthcheck).toMatch(/CMD \["node"/);
    expect(healthcheck).not.toMatch(/curl|wget/);
  });

  it('starts the CLI entry from the build output', () => {
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/cli.js"]');
  });
});
