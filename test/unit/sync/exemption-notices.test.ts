import { describe, expect, it } from 'vitest';
import type { StoredPolicy } from '../../../shared/contracts/stored-policy';
import { DAY_MS, parsePolicy } from '../../../shared/policy';
import { announceEndingExemptions, type NoticePort } from '../../../shared/sync/exemption-notices';
import { FakeEvents } from '../../support/fakes';

const NOW = Date.UTC(2026, 5, 1);
const ARN = 'arn:aws:chime:us-east-1:111122223333:app-instance/app';

function stored(untils: Record<string, number>): StoredPolicy {
  const document = {
    tenantId: 'acme',
    appInstanceArn: ARN,
    rules: [{ id: 'all', priority: 1, match: {}, expiration: { days: 30 } }],
    exemptions: Object.entries(untils).map(([id, until]) => ({
      id,
      match: { userIds: [`user-${id}`] },
      expiration: 'never',
      until: new Date(until).toISOString(),
      reason: 'contract',
      owner: 'ops',
    })),
  };
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return { tenantId: 'acme', version: 3, updatedAt: '', document, policy: parsed.policy };
}

/** The state table's conditional put, in memory. */
class FakeNotices implements NoticePort {
  readonly claimed = new Set<string>();
  async claim(tenantId: string, key: string): Promise<boolean> {
    const id = `${tenantId}/${key}`;
    if (this.claimed.has(id)) return false;
    this.claimed.add(id);
    return true;
  }
}

describe('Exemption Ending', () => {
  it('goes out once per exemption, from 7 days before it ends, and again only for a new until', async () => {
    const notices = new FakeNotices();
    const events = new FakeEvents();
    const policy = stored({ soon: NOW + 6 * DAY_MS, later: NOW + 8 * DAY_MS, over: NOW - DAY_MS });

    expect(await announceEndingExemptions(policy, NOW, { notices, events })).toBe(1);
    expect(await announceEndingExemptions(policy, NOW + 3_600_000, { notices, events })).toBe(0);
    expect(events.published).toEqual([
      {
        type: 'Exemption Ending',
        detail: {
          tenantId: 'acme',
          exemptionId: 'soon',
          until: new Date(NOW + 6 * DAY_MS).toISOString(),
          owner: 'ops',
          policyVersion: 3,
        },
      },
    ]);
    // A day later, `later` enters its last 7 days.
    expect(await announceEndingExemptions(policy, NOW + DAY_MS + 1, { notices, events })).toBe(1);
    // `soon` extended by a month: announced again when the new date nears.
    const extended = stored({ soon: NOW + 36 * DAY_MS });
    expect(await announceEndingExemptions(extended, NOW + 30 * DAY_MS, { notices, events })).toBe(1);
    expect(
      events.published.map((event) => event.type === 'Exemption Ending' && event.detail.exemptionId),
    ).toEqual(['soon', 'later', 'soon']);
  });
});
