import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Flags for Debian's chromium in a container without a display, GPU, sandbox or network beyond localhost. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  /** A new tab; each tab has its own sessionStorage, so each can sign in with a different key. */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Chromium with a fresh profile directory (removed on close), so no state leaks between runs. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run tools/scripts/ensure-chromium.sh (apt-get install chromium) first.`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'tt-chromium-'));
  // Playwright passes --user-data-dir itself for a persistent context: this is the fresh directory it uses.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    reducedMotion: 'reduce',
  });
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Where the screenshots for docs/ go (committed: they show the pages as the tests saw them). */
export async function screenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<void> {
  const directory = join(__dirname, '..', '..', '..', '..', 'docs', 'screenshots');
  await mkdir(directory, { recursive: true });
  await page.screenshot({
    path: join(directory, `${name}.png`),
    fullPage: options.fullPage ?? true,
    animations: 'disabled',
  });
}

/** A screenshot of one part of a page (the credit view, say), for docs/. */
export async function screenshotOf(locator: Locator, name: string): Promise<void> {
  const directory = join(__dirname, '..', '..', '..', '..', 'docs', 'screenshots');
  await mkdir(directory, { recursive: true });
  await locator.screenshot({ path: join(directory, `${name}.png`), animations: 'disabled' });
}
