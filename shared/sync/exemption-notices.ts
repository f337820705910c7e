import type { EventSink } from '../contracts/lifecycle-events';
import type { StoredPolicy } from '../contracts/stored-policy';
import { DAY_MS, exemptionsEndingSoon } from '../policy';
import type { NoticePort } from './ports';

export type { NoticePort };

/**
 * Publishes "Exemption Ending" once per exemption, from 7 days before its `until`: the notice is claimed in
 * the state table first, keyed by the exemption's id and its `until` (an exemption extended to a later date
 * is announced again when that one nears). Returns how many went out.
 */
export async function announceEndingExemptions(
  stored: StoredPolicy,
  now: number,
  deps: { readonly notices: NoticePort; readonly events: EventSink },
): Promise<number> {
  let sent = 0;
  for (const exemption of exemptionsEndingSoon(stored.policy, now)) {
    const until = Date.parse(exemption.until);
    const key = `EXEMPTION-ENDING#${exemption.id}#${new Date(until).toISOString()}`;
    if (!(await deps.notices.claim(stored.tenantId, key, now, until + 30 * DAY_MS))) continue;
    await deps.events.publish([
      {
        type: 'Exemption Ending',
        detail: {
          tenantId: stored.tenantId,
          exemptionId: exemption.id,
          until: exemption.until,
          owner: exemption.owner,
          policyVersion: stored.version,
        },
      },
    ]);
    sent++;
  }
  return sent;
}
