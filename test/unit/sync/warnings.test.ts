import { describe, expect, it } from 'vitest';
import type { ReconcileMessage, StartMessage } from '../../../shared/contracts/reconcile-messages';
import { reconcileStep } from '../../../shared/sync/reconcile-step';
import { reconcileFakes } from '../../support/fakes';

const DAY = 86_400_000;
const start: StartMessage = { kind: 'start', tenantId: 'acme', trigger: 'schedule' };

/** Runs one whole run, continuation by continuation (one page per invocation). */
async function runToEnd(fakes: ReturnType<typeof reconcileFakes>): Promise<void> {
  await reconcileStep(start, fakes.deps());
  for (let guard = 0; guard < 20; guard++) {
    const [next] = fakes.queue.take();
    if (!next) return;
    await reconcileStep(next as ReconcileMessage, fakes.deps());
  }
  throw new Error('the run did not end');
}

describe('warnings during a sync (in-memory ports)', () => {
  it('warns each user once per horizon across runs, and publishes one digest per run', async () => {
    const fakes = reconcileFakes({ now: Date.UTC(2025, 0, 10) });
    fakes.policies.put('acme', {
      notify: { horizons: [30, 7] },
      default: { expiration: { days: 40 } },
      rules: [],
      safety: { minRemainingDays: 1, maxShorteningChanges: 100_000, maxShorteningPercent: 100 },
    });
    const created = Date.UTC(2025, 0, 10) - DAY / 2;
    // Three users over two pages: 40 days from creation each, so 39.5 days left at the first run.
    for (const id of ['u-1', 'u-2', 'u-3'])
      fakes.chime.add({ appInstanceUserId: id, createdAt: created, expirationDays: undefined });
    const warnings = () =>
      fakes.events.published
        .filter((event) => event.type === 'User Expiring Soon')
        .map((event) => `${event.detail.appInstanceUserId}@${event.detail.horizonDays}`);
    const digests = () => fakes.events.published.filter((event) => event.type === 'Tenant Expiry Digest');

    await runToEnd(fakes);
    expect(warnings()).toEqual([]);
    expect(digests()).toHaveLength(1);

    // 33 days on: within 7 days, so both horizons were crossed since the last sync: each is sent, once.
    fakes.advance(33 * DAY);
    await runToEnd(fakes);
    expect(warnings().sort()).toEqual(['u-1@30', 'u-1@7', 'u-2@30', 'u-2@7', 'u-3@30', 'u-3@7']);
    // The next run sends nothing new.
    fakes.advance(DAY / 4);
    await runToEnd(fakes);
    expect(warnings()).toHaveLength(6);
    expect(digests()).toHaveLength(3);
    expect(digests().at(-1)?.detail).toMatchObject({
      horizons: [
        { days: 30, users: 3 },
        { days: 7, users: 3 },
      ],
      userIds: ['u-1', 'u-2', 'u-3'],
      truncated: false,
    });
    expect(fakes.ledger.entries.get('u-1')).toMatchObject({ warnedHorizons: [30, 7] });
  });
});
