import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's chromium, driven by playwright-core, with a fresh profile in a temp dir. The flags
 * keep it headless, quiet and offline from anything but the servers a test starts.
 * `.ci/run` installs the package when it is missing.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface ChromiumHandle {
  /** A persistent context on the fresh --user-data-dir: one browser, one profile. */
  context: BrowserContext;
  userDataDir: string;
  close(): Promise<void>;
}

export async function launchChromium(options: { executablePath?: string } = {}): Promise<ChromiumHandle> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'tokengate-chromium-'));
  let context: BrowserContext;
  try {
    // launchPersistentContext passes userDataDir to chromium as --user-data-dir.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: options.executablePath ?? CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      viewport: { width: 1100, height: 760 },
      timeout: 30_000,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    userDataDir,
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/**
 * Fills the test OpenID Provider's login form (the page must be on it) and submits it; the
 * consent prompt that follows is left to the caller (Allow or Deny).
 */
export async function signInAtProvider(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.fill('input[name="login"]', user.username);
  await page.fill('input[name="password"]', user.password);
  await page.click('button[type="submit"]');
}
