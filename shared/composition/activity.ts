import type { SQSEvent } from 'aws-lambda';
import type { z } from 'zod';
import { activityMessageSchema } from '../activity/message';
import { batchWinners } from '../activity/record';
import type { ActivityStore } from '../aws/activity';
import { describeInvalidBody, type QueueDriver, type QueueDriverOptions } from '../aws/queue-driver';
import type { ActivityEvent } from '../contracts/activity';
import type { Log } from '../contracts/log';

/**
 * The activity wiring of the composition root (`Runtime.activityDriver`), kept beside it so that
 * composition-root.ts stays a readable list of what the process builds.
 */

export interface ActivityDriverOptions {
  readonly log: Log;
  readonly observe?: (outcome: 'advanced' | 'stale' | 'coalesced') => void;
  readonly random?: () => number;
}

/** What the activity wiring takes from the runtime (the composition root's lazily built parts). */
export interface ActivityRuntime {
  readonly activity: ActivityStore;
  queueDriver<Message>(options: Omit<QueueDriverOptions<Message>, 'transport'>): QueueDriver<Message>;
}

/**
 * The activity queue's driver for one SQS batch: each valid record is one conditional update, except
 * that a user's older events in the same batch are settled by its latest one (coalescing).
 */
export function wireActivity(
  runtime: ActivityRuntime,
  event: SQSEvent,
  options: ActivityDriverOptions,
): QueueDriver<ActivityEvent> {
  const store = runtime.activity;
  const winners = batchWinners(
    event.Records.map((record) => {
      const parsed = parseJson(record.body);
      const message = activityMessageSchema.safeParse(parsed);
      return { messageId: record.messageId, event: message.success ? message.data : null };
    }),
  );
  return runtime.queueDriver<ActivityEvent>({
    kind: 'activity',
    schema: activityMessageSchema as unknown as z.ZodType<ActivityEvent>,
    retry: { baseSeconds: 5, capSeconds: 300 },
    log: options.log,
    ...(options.random ? { random: options.random } : {}),
    describeInvalid: (body) => describeInvalidBody(activityMessageSchema, body),
    handle: async (activity, delivery) => {
      if (!winners.has(delivery.messageId)) {
        options.observe?.('coalesced');
        return undefined;
      }
      options.observe?.(await store.record(activity));
      return undefined;
    },
  });
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
