import { batchWinners } from '../activity/record';
import type { ActivityOutcome, ActivityStore } from '../aws/activity';
import type { BatchMessage } from '../aws/queue-driver';
import type { ActivityEvent } from '../contracts/activity';

/**
 * The activity wiring of the composition root (`Runtime.activityRecorder`), kept beside it so that
 * composition-root.ts stays a readable list of what the process builds.
 */

/** What record-activity does with one event; `coalesced`: a later event of the same user settles it. */
export type ActivityRecordOutcome = ActivityOutcome | 'coalesced';

export interface ActivityRecorder {
  /**
   * Records one event of a queue batch: one conditional update, unless a later event of the same user is in
   * the same batch (coalescing: that one alone is written, and settles this one).
   */
  record(
    event: ActivityEvent,
    record: { readonly messageId: string; readonly batch: readonly BatchMessage<ActivityEvent>[] },
  ): Promise<ActivityRecordOutcome>;
}

export function wireActivity(runtime: { readonly activity: ActivityStore }): ActivityRecorder {
  const store = runtime.activity;
  // The winners of a batch, computed once per batch from the messages the queue driver parsed once.
  const winnersOf = new WeakMap<readonly BatchMessage<ActivityEvent>[], Set<string>>();
  return {
    async record(event, { messageId, batch }) {
      let winners = winnersOf.get(batch);
      if (!winners) {
        winners = batchWinners(batch.map((entry) => ({ messageId: entry.messageId, event: entry.message })));
        winnersOf.set(batch, winners);
      }
      return winners.has(messageId) ? store.record(event) : 'coalesced';
    },
  };
}
