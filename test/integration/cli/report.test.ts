import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyDocument } from '../../fixtures/policies';
import { days, hours, seedTenant } from '../../support/chime';
import { bundledChromium } from './chromium';
import { type CliStack, startCliStack } from './harness';

const ARTIFACTS = path.join(import.meta.dirname, '..', '..', '..', 'test-artifacts');
const DAY = days(1);

/**
 * Issue 13 item 11: `plan --format markdown` and `report --html`, run as an operator runs them, and the page
 * opened in a real headless Chromium to check that what renders carries the right counts.
 */
describe('plan --format markdown and report --html', { timeout: 240_000 }, () => {
  let stack: CliStack;
  let seededAt: number;
  let arn: string;

  beforeAll(async () => {
    stack = await startCliStack();
    seededAt = stack.emulator.now().getTime();
    arn = seedTenant(
      stack.emulator,
      [
        { appInstanceUserId: 'guest-a', ageMs: days(1) }, // never → 7 d (6 d left), shortens
        { appInstanceUserId: 'guest-b', ageMs: days(2), expirationDays: 7 }, // 5 d left, right already
        { appInstanceUserId: 'emp-1', ageMs: days(10), expirationDays: 120 }, // 110 d left → never
        { appInstanceUserId: 'svc-x', ageMs: days(5), expirationDays: 9 }, // unmanaged, 4 d left
        { appInstanceUserId: 'user-old', ageMs: days(30) + hours(1), expirationDays: 30 }, // expired → rescued
        { appInstanceUserId: 'user-ok', ageMs: days(5), expirationDays: 365 }, // 360 d left, right already
        { appInstanceUserId: 'user-long', ageMs: days(1), expirationDays: 1000 }, // 999 d → 364 d, shortens
        { appInstanceUserId: 'user-20', ageMs: days(5), expirationDays: 25 }, // 20 d → 360 d
      ],
      'report',
    );
    const put = await stack.cli(
      'policy',
      'put',
      await stack.write('report.json', policyDocument('report', arn)),
    );
    expect(put.code, put.stderr).toBe(0);
  });

  afterAll(async () => {
    await stack?.close();
  });

  const before = { expired: 1, lt7d: 2, lt30d: 1, lt90d: 0, lt1y: 2, gt1y: 1, never: 1 };
  const after = { expired: 0, lt7d: 3, lt30d: 0, lt90d: 0, lt1y: 4, gt1y: 0, never: 1 };

  it('plan --format markdown gives a pull-request summary: counts, held state, shortening changes, histogram', async () => {
    const result = await stack.cli('plan', '--tenant', 'report', '--format', 'markdown');
    expect(result.code, result.stderr).toBe(0);
    const text = result.stdout;
    expect(text).toContain('### Expiration plan for tenant `report`');
    expect(text).toContain(' · policy version 1 · generated ');
    expect(text).toContain('**Held for approval:** a sync would hold the 2 shortening change(s)');
    expect(text).toContain('| 8 | 2 | 4 | 1 | 2 | 1 | 1 | 0 |');
    const histogram = text
      .slice(text.indexOf('```text') + 8, text.lastIndexOf('```'))
      .trimEnd()
      .split('\n');
    expect(histogram).toHaveLength(7);
    const labels = ['expired', '< 7 d', '< 30 d', '< 90 d', '< 1 y', '> 1 y', 'never'];
    Object.keys(before).forEach((bucket, index) => {
      const line = histogram[index] as string;
      expect(line.startsWith(labels[index] as string)).toBe(true);
      const [was, will] = (line.slice(8).match(/\d+/g) ?? []).map(Number); // after the 8-wide label
      expect([was, will], line).toEqual([
        before[bucket as keyof typeof before],
        after[bucket as keyof typeof after],
      ]);
    });
    expect(text).toMatch(/\| `guest-a` \| none \| 7 d \| guests \|/);
    expect(text).toMatch(/\| `user-long` \| 1000 d \| 365 d \| default \|/);
    expect(text).not.toContain('emp-1`'); // lengthening and removals are not shortening

    const bad = await stack.cli('plan', '--tenant', 'report', '--format', 'html');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format: must be one of text, json, markdown');
  });

  it('report --policy names the unsaved file it previewed, not a stored version', async () => {
    const file = path.join(stack.dir, 'preview.html');
    const document = await stack.write('preview.json', policyDocument('report', arn));
    const result = await stack.cli('report', '--tenant', 'report', '--html', file, '--policy', document);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`tenant report, unsaved file ${document}, 8 users`);
    const html = await readFile(file, 'utf8');
    expect(html).toContain(`<span id="policy-source" data-kind="unsaved">unsaved file ${document}</span>`);
    const markdown = await stack.cli('plan', '--policy', document, '--format', 'markdown');
    expect(markdown.stdout).toContain(` · unsaved file ${document} · generated `);
  });

  it('report --html writes one self-contained page that Chromium renders with the right chart and calendar', async () => {
    const browser = await bundledChromium();
    const file = path.join(stack.dir, 'report.html');
    const result = await stack.cli('report', '--tenant', 'report', '--html', file);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `wrote ${file}: tenant report, policy version 1, 8 users, 2 shortening change(s)`,
    );
    const html = await readFile(file, 'utf8');
    // Self-contained: nothing to fetch (no src/href to anything, no script, no @import or url()).
    expect(html).not.toMatch(/<script|<link|\ssrc=|\shref=|@import|url\(/i);

    const profile = await mkdtemp(path.join(tmpdir(), 'chromium-profile-'));
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: browser.executablePath,
        env: browser.env,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 900, height: 800 },
      });
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });
      expect(requests).toEqual([url]);

      // The chart: one bar per bucket and series, its height proportional to its count, its label the count.
      const chart = page.locator('#expiry-chart');
      const box = await chart.boundingBox();
      expect(box?.width).toBeGreaterThan(600);
      const bars = await page.$$eval('#expiry-chart rect.bar', (rects) =>
        rects.map((rect) => ({
          bucket: rect.getAttribute('data-bucket'),
          series: rect.getAttribute('data-series'),
          count: Number(rect.getAttribute('data-count')),
          height: rect.getBoundingClientRect().height,
        })),
      );
      expect(bars).toHaveLength(14);
      const unit = Math.max(...bars.map((bar) => bar.height / Math.max(bar.count, 1)));
      for (const bar of bars) {
        const expected = (bar.series === 'before' ? before : after)[bar.bucket as keyof typeof before];
        expect(bar.count, `${bar.series} ${bar.bucket}`).toBe(expected);
        expect(bar.height).toBeCloseTo(expected * unit, 0);
      }
      const labels = await page.$$eval('#expiry-chart text.count', (texts) =>
        texts.map(
          (text) =>
            `${text.getAttribute('data-series')} ${text.getAttribute('data-bucket')} ${text.textContent}`,
        ),
      );
      expect(labels).toContain('before expired 1');
      expect(labels).toContain('after lt7d 3');
      expect(labels).toContain('after lt1y 4');
      // Every change is on the chart: the users whose expiry changes, shaded per bar, and the moves table.
      const changed = await page.$$eval('#expiry-chart rect.changed', (rects) =>
        rects
          .filter((rect) => Number(rect.getAttribute('data-count')) > 0)
          .map(
            (rect) =>
              `${rect.getAttribute('data-series')} ${rect.getAttribute('data-bucket')} ${rect.getAttribute('data-count')}`,
          )
          .sort(),
      );
      expect(changed).toEqual([
        'after lt1y 3',
        'after lt7d 1',
        'after never 1',
        'before expired 1',
        'before gt1y 1',
        'before lt1y 1',
        'before lt30d 1',
        'before never 1',
      ]);
      const moves = await page.$$eval('#moves tbody tr', (rows) =>
        rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent).join(' → ')),
      );
      expect(moves.sort()).toEqual([
        '< 1 y → never → 1',
        '< 30 d → < 1 y → 1',
        '> 1 y → < 1 y → 1',
        'expired → < 1 y → 1',
        'never → < 7 d → 1',
      ]);
      expect(await page.locator('#policy-source').innerText()).toBe('policy version 1');

      // The calendar: 90 days from today; after the plan, guest-a, guest-b and svc-x expire on days 6, 5, 4.
      const cells = await page.$$eval('#expiry-calendar .day', (divs) =>
        divs.map((div) => ({
          date: div.getAttribute('data-date'),
          count: Number(div.getAttribute('data-count')),
          text: (div as unknown as { innerText: string }).innerText,
          width: div.getBoundingClientRect().width,
        })),
      );
      expect(cells).toHaveLength(90);
      const dayOf = (offset: number) => new Date(seededAt + offset).toISOString().slice(0, 10);
      const expiring = cells.filter((cell) => cell.count > 0);
      expect(expiring.map((cell) => [cell.date, cell.count])).toEqual([
        [dayOf(days(4)), 1],
        [dayOf(days(5)), 1],
        [dayOf(days(6)), 1],
      ]);
      for (const cell of expiring) {
        expect(cell.text.split('\n').at(-1)).toBe('1');
        expect(cell.width).toBeGreaterThan(40);
      }
      expect(cells[0]?.date).toBe(new Date(Math.floor(Date.now() / DAY) * DAY).toISOString().slice(0, 10));

      // Per-rule counts, the verdict and the shortening list.
      const rules = await page.$$eval('#rules tbody tr', (rows) =>
        rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)),
      );
      expect(rules).toEqual([
        ['guests', '7 d', '2', '1', '1'],
        ['trial', '30 d', '0', '0', '0'],
        ['staff', 'never', '1', '1', '0'],
        ['service', 'unmanaged', '1', '0', '0'],
        ['(default)', '365 d', '4', '3', '1'],
      ]);
      expect(await page.getAttribute('#safety', 'data-hold')).toBe('true');
      expect(await page.locator('#safety').innerText()).toContain('Held for approval');
      const shortening = await page.$$eval('#shortening tbody tr td:first-child', (cells) =>
        cells.map((cell) => cell.textContent),
      );
      expect(shortening).toEqual(['guest-a', 'user-long']);

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
    } finally {
      await context?.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
