import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { onFreePort, onFreePorts } from './ports.ts';

/** The one helper for a port chosen before its server starts: another port when it was taken meanwhile. */

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('onFreePort', () => {
  it('starts again on another port when another process took the chosen one first', async () => {
    const thief = createServer();
    const server = createServer();
    const tried: number[] = [];
    try {
      await onFreePort(async (port) => {
        tried.push(port);
        if (tried.length === 1) await listen(thief, port);
        await listen(server, port);
      });
      expect(tried).toHaveLength(2);
      expect(tried[1]).not.toBe(tried[0]);
      expect((server.address() as { port: number }).port).toBe(tried[1]);
    } finally {
      await Promise.all([close(thief), close(server)]);
    }
  });

  it("retries on a child process's EADDRINUSE output too, and gives up after 5 attempts", async () => {
    let attempts = 0;
    const failing = onFreePort(async (port) => {
      attempts += 1;
      throw new Error(`tokengate: cannot listen on 127.0.0.1:${port} (main listener, listen.port): EADDRINUSE: the address is in use`);
    });
    await expect(failing).rejects.toThrow(/EADDRINUSE/);
    expect(attempts).toBe(5);
  });

  it('passes any other failure on at once', async () => {
    let attempts = 0;
    await expect(onFreePort(async () => {
      attempts += 1;
      throw new Error('redis-server exited (1): bad config');
    })).rejects.toThrow('bad config');
    expect(attempts).toBe(1);
  });

  it('gives distinct ports when asked for several', async () => {
    const ports = await onFreePorts(3, async (chosen) => chosen);
    expect(new Set(ports).size).toBe(3);
  });
});
