/**
 * Debian's Chromium driven by playwright-core (playwright's own browser download cannot run here).
 * A machine without it gets told how to install it; CI installs it (.ci/run), so there a missing
 * Chromium is a failure, not a skip.
 */
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_MISSING = `Chromium was not found at ${CHROMIUM_PATH}. The browser tests drive Debian's Chromium:
  sudo apt-get update && sudo apt-get install -y chromium
(or set CHROMIUM_PATH to a Chromium/Chrome binary).`;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A desktop-sized Hebrew browser context with the journeys' timeouts (generous: these machines run
 * several stacks at once). `timeZone` is the browser's own clock: a test that must prove pages follow
 * the business's clock gives another zone than the business's. `clientIp` is the address the
 * Worker sees (CF-Connecting-IP), one per test file (see ./shared-stack.ts).
 */
export async function newHebrewContext(
  browser: Browser,
  opts: { clientIp: string; timeZone?: string },
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: "he-IL",
    timezoneId: opts.timeZone ?? "Asia/Jerusalem",
    extraHTTPHeaders: { "CF-Connecting-IP": opts.clientIp },
  });
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(60_000);
  return context;
}
