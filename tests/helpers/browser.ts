import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import { type Browser, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';

/**
 * The web console in a real browser: Debian's Chromium (installed by the test setup, like PgBouncer)
 * driven by playwright-core against the serverless-offline the setup started. Screenshots of each page go to
 * reports/screenshots/ (git-ignored) on every run.
 */
export const chromiumAvailability = () => inject('prerequisites').chromium;

export const SCREENSHOTS = `${ROOT}reports/screenshots/`;

export async function launchChromium(): Promise<Browser> {
  // Chromium's sandbox refuses to start as root (CI containers); the pages are our own.
  const args = userInfo().uid === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: chromiumAvailability()!.detail, args });
}

/** What the page reported as broken: uncaught exceptions and console errors (CSP violations are among them). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * axe-core's WCAG 2.x A/AA rules on the page as it is now. The engine is evaluated through the DevTools
 * protocol, which the page's CSP does not govern (an injected <script> would be refused, as it should).
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(() =>
    (globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe
      .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
      .then((result) => result.violations),
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
