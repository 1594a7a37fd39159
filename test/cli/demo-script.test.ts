import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './run-cli.ts';

/** The README's first command, `scripts/demo`, as a user runs it. */

const DEMO = ['bash', 'scripts/demo'];

describe('scripts/demo', () => {
  it('prints the URL and what to do, serves the SPA through the gateway, and stops everything on Ctrl-C', async () => {
    // Port 0: the demo picks free ports and its banner says which.
    const demo = startCli(['--port', '0', '--op-port', '0'], { command: DEMO });
    let port = 0;
    let opPort = 0;
    try {
      await demo.waitFor(/Ctrl-C stops everything/, 60_000);
      const { stdout, stderr } = demo.output();
      // It ran on the tests' own Node and installed nothing (an install outlasts a test).
      expect(stderr).not.toContain('tokengate: installing');
      port = Number(/Open {4}http:\/\/localhost:(\d+)\//.exec(stdout)?.[1]);
      opPort = Number(/OpenID Provider {2}http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
      expect(port).toBeGreaterThan(0);
      expect(opPort).toBeGreaterThan(0);
      expect(stdout).toMatch(/sign in as +demo +with password +demo/);
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
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
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
