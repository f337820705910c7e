import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cloudTrailEntry } from '../../../emulator/cloudtrail';
import { FUNCTIONS } from '../../../functions/index';
import { type BannerInput, bannerLines, triggerText } from '../../../local/banner';
import { EventLines } from '../../../local/event-lines';
import type { ReceivedEvent } from '../../../local/eventbridge-server';
import { stackWiring } from '../../../local/stack';

const ENDPOINTS = {
  dynamodb: 'http://127.0.0.1:1',
  sqs: 'http://127.0.0.1:2',
  chime: 'http://127.0.0.1:3',
  eventbridge: 'http://127.0.0.1:4',
  sts: 'http://127.0.0.1:6',
};

function banner(overrides: Partial<BannerInput['stack']> = {}, scheduleMinutes = 5): string[] {
  return bannerLines({
    stack: {
      endpoints: ENDPOINTS,
      functions: 'serverless-offline',
      wiring: stackWiring({ scheduleMinutes }),
      summary: [],
      restored: false,
      resumedRuns: [],
      environment: {},
      policyFiles: [],
      ...overrides,
    },
    lambdaPort: 5,
    persist: false,
    stateDir: '/work/.local/state',
    cwd: '/work',
  });
}

describe('the local start banner', () => {
  it('lists every declared function, each with the trigger the stack wires for it', () => {
    const lines = banner();
    const start = lines.findIndex((line) => line.startsWith('  functions '));
    const listed = lines.slice(start, start + FUNCTIONS.length).map((line) => line.slice(28).split(/\s+/)[0]);
    expect(listed).toEqual(FUNCTIONS.map((fn) => fn.name));
    for (const fn of stackWiring()) {
      expect(lines.some((line) => line.includes(`${fn.name.padEnd(17)} ${triggerText(fn.trigger)}`))).toBe(
        true,
      );
    }
    const text = lines.join('\n');
    expect(text).toContain('reconcile-tenant  reconcile queue (batch ');
    expect(text).toContain('record-activity   activity queue (batch ');
    expect(text).toContain('user-removed      EventBridge rule on the default bus (source aws.chime)');
    expect(text).toContain('policy-changed    PolicyTable stream');
    expect(text).toMatch(/schedule-sync +every 5 min \(deployed: rate\(/);
    expect(banner({}, 0).join('\n')).toMatch(
      /schedule-sync +off here \(--schedule-minutes 0; deployed: rate\(/,
    );
  });

  it("says which policy files it wrote and which are the operator's, with how to apply them", () => {
    const text = banner({
      policyFiles: [
        { tenantId: 'acme', file: '/work/.local/policies/acme.json', state: 'written' },
        { tenantId: 'globex', file: '/work/.local/policies/globex.json', state: 'edited' },
        { tenantId: 'initech', file: '/work/.local/policies/initech.json', state: 'kept' },
      ],
    }).join('\n');
    expect(text).toContain(
      '  policy files              .local/policies/acme.json  written: the demo policy stored now',
    );
    expect(text).toContain(
      '.local/policies/globex.json  kept, with your edits; the demo policy is stored (npx chime-lifecycle policy put .local/policies/globex.json applies yours)',
    );
    expect(text).toContain('.local/policies/initech.json  kept: the demo policy stored now');
    expect(text).toContain(
      '  edit .local/policies/globex.json, then: npx chime-lifecycle policy put .local/policies/globex.json',
    );
    expect(text).toContain('npx chime-lifecycle plan --policy examples/policies/acme.json');
  });
});

describe('event lines', () => {
  const printed: string[] = [];
  const tenants = new Map([
    ['arn:aws:chime:us-east-1:111122223333:app-instance/acme-chat', 'acme'],
    ['arn:aws:chime:us-east-1:111122223333:app-instance/globex-support', 'globex'],
  ]);
  let lines: EventLines;
  const where = { region: 'us-east-1', accountId: '111122223333' };
  const deletion = (appInstance: string, user: string, reason: 'expired' | 'deleted'): ReceivedEvent => {
    const entry = cloudTrailEntry(
      `arn:aws:chime:us-east-1:111122223333:app-instance/${appInstance}/user/${user}`,
      reason,
      Date.now(),
      where,
    );
    return {
      id: user,
      time: new Date().toISOString(),
      eventBusName: 'default',
      source: entry.Source,
      detailType: entry.DetailType,
      detail: JSON.parse(entry.Detail),
    };
  };
  const lifecycle = (detailType: string, detail: Record<string, unknown>): ReceivedEvent => ({
    id: detailType,
    time: new Date().toISOString(),
    eventBusName: 'chime-lifecycle',
    source: 'chime-lifecycle',
    detailType,
    detail,
  });

  beforeEach(() => {
    vi.useFakeTimers();
    printed.length = 0;
    lines = new EventLines({ print: (line) => printed.push(line), tenantOf: (arn) => tenants.get(arn) });
  });
  afterEach(() => {
    lines.stop();
    vi.useRealTimers();
  });

  it('summarises a burst of Chime deletions in one line per kind, counted per tenant, after the banner', () => {
    for (let i = 0; i < 12; i++) lines.onEvent(deletion('acme-chat', `u${i}`, 'expired'));
    for (let i = 0; i < 6; i++) lines.onEvent(deletion('globex-support', `g${i}`, 'expired'));
    lines.onEvent(deletion('other', 'x', 'expired'));
    lines.onEvent(lifecycle('Tenant Run Completed', { tenantId: 'acme', state: 'completed' }));
    vi.advanceTimersByTime(10_000);
    expect(printed).toEqual([]); // nothing before the banner
    lines.start();
    expect(printed).toEqual(['event  Tenant Run Completed tenant=acme state=completed']);
    for (let i = 0; i < 2; i++) lines.onEvent(deletion('globex-support', `d${i}`, 'deleted'));
    vi.advanceTimersByTime(999);
    expect(printed).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(printed.slice(1)).toEqual([
      "event  AWS Service Event via CloudTrail ×19: Chime's expiry sweep deleted 19 users (acme 12, globex 6, no tenant 1)",
      'event  AWS API Call via CloudTrail ×2: DeleteAppInstanceUser deleted 2 users (globex 2)',
    ]);
  });

  it('prints a burst that never goes quiet within 5 seconds of its start, and nothing after stop()', () => {
    lines.start();
    for (let i = 0; i < 10; i++) {
      lines.onEvent(deletion('acme-chat', `u${i}`, 'expired'));
      vi.advanceTimersByTime(600);
    }
    expect(printed).toEqual([
      "event  AWS Service Event via CloudTrail ×9: Chime's expiry sweep deleted 9 users (acme 9)",
    ]);
    lines.stop();
    lines.onEvent(lifecycle('User Expired', { tenantId: 'acme' }));
    vi.advanceTimersByTime(10_000);
    expect(printed).toHaveLength(1);
  });
});
