import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/** Debian's chromium (playwright-core never downloads a browser); `.ci/run` installs it. */
export const CHROMIUM = '/usr/bin/chromium'

/** Whether the browser tests can run here. In CI (CI=true) its absence fails them instead of skipping. */
export const haveChromium = existsSync(CHROMIUM)

/** Browser tests run unless Chromium is missing outside CI. */
export const skipBrowserTests = !haveChromium && process.env.CI !== 'true'

/**
 * Headless Chromium as the machine's probe starts it: without the background-networking flags it keeps
 * reaching for Google's hosts, which this closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}
