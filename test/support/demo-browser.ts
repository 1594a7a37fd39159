import pino from 'pino';
import type { Page } from 'playwright-core';
import { startDemo, type DemoStack } from '../../demo/main.ts';
import { launchChromium, type ChromiumHandle } from './chromium.ts';

/**
 * The demo stack (provider, sample API, SPA, gateway) started in-process on free ports, with a
 * real Chromium and one page in it: the setup the browser tests that click through the demo share.
 */

export interface DemoBrowser {
  demo: DemoStack;
  chromium: ChromiumHandle;
  page: Page;
  /** Closes the browser, then the demo. */
  close(): Promise<void>;
}

export async function startDemoBrowser(): Promise<DemoBrowser> {
  const demo = await startDemo({ port: 0, opPort: 0, logger: pino({ level: 'silent' }) });
  let chromium: ChromiumHandle | undefined;
  try {
    chromium = await launchChromium();
    const page = await chromium.context.newPage();
    page.setDefaultTimeout(15_000);
    const browser = chromium;
    return {
      demo,
      chromium: browser,
      page,
      async close() {
        await browser.close();
        await demo.close();
      },
    };
  } catch (err) {
    await chromium?.close();
    await demo.close();
    throw err;
  }
}
