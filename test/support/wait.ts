/**
 * Polls `check` every 25 ms until it returns true (a throw counts as "not yet"), or fails after
 * `timeoutMs` naming `what`. For conditions with no event to wait on: a process's output, a
 * replica catching up, a request arriving at an upstream.
 */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet: retried below until the deadline
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
