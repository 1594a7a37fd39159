import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/nginx.ts';
import { runCli, startCli } from './run-cli.ts';

/** The README's first command, `scripts/demo`, as a user runs it. */

const DEMO = ['bash', 'scripts/demo'];

describe('scripts/demo', () => {
  it('prints the URL and what to do, serves the SPA through the gateway, and stops everything on Ctrl-C', async () => {
    const port = await freePort();
    const opPort = await freePort();
    const demo = startCli(['--port', String(port), '--op-port', String(opPort)], { command: DEMO });
    try {
      await demo.waitFor(/Ctrl-C stops everything/, 60_000);
      const { stdout } = demo.output();
      expect(stdout).toContain(`Open    http://localhost:${port}/`);
      expect(stdout).toMatch(/sign in as +demo +with password +demo/);
      expect(stdout).toContain(`OpenID Provider  http://127.0.0.1:${opPort}`);
      const page = await fetch(`http://localhost:${port}/`);
      expect(await page.text()).toContain('<button id="call-api" type="button">Call API</button>');
      const session = await fetch(`http://localhost:${port}/auth/session`);
      expect(session.status).toBe(401);
      const discovery = await fetch(`http://127.0.0.1:${opPort}/.well-known/openid-configuration`);
      expect(discovery.status).toBe(200);
    } finally {
      const result = await demo.stop('SIGINT');
      expect(result.code).toBe(0);
    }
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${opPort}/`)).rejects.toThrow();
  });

  it('says which port is taken and how to choose another', async () => {
    const taken: Server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runCli(['--port', String(port)], { command: DEMO, timeoutMs: 60_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} (the gateway) is already in use; choose another with --port <port>`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('--help explains the options', async () => {
    const result = await runCli(['--help'], { command: DEMO });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: scripts\/demo/);
    expect(result.stdout).toContain('--op-port');
  });
});
