/**
 * Debian's Chromium, headless, through playwright-core: the end-to-end suite and the
 * offline report.html check launch it the same way (fresh profile, no GPU, no background
 * traffic), so the flags that keep it quiet on a CI box live in one place.
 */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

type LaunchOptions = NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>;

/** `CHROMIUM_PATH`, else /usr/bin/chromium; throws with the install hint when it is missing. */
export function chromiumPath(): string {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath))
    throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return executablePath;
}

/** Headless Chromium on the profile folder `profile`; `options` add the viewport, offline mode, downloads. */
export function launchHeadlessChromium(
  profile: string,
  options: Omit<LaunchOptions, 'executablePath' | 'headless' | 'args'>,
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    ...options,
  });
}
