import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { backoff, sleep } from '../backoff';
import type { EventSink } from '../contracts/lifecycle-events';
import { assertValidEvent, type LifecycleEvent } from '../contracts/lifecycle-events';

export type { LifecycleEvent };

export const EVENT_SOURCE = 'chime-lifecycle';

/** PutEvents takes at most 10 entries a call. */
const MAX_ENTRIES = 10;
const MAX_ATTEMPTS = 5;

export interface EventPublisherOptions {
  readonly busName: string;
  /** Injected so tests do not wait; defaults to a real timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Publishes lifecycle events to an EventBridge bus in batches of 10 and retries the entries PutEvents
 * reports as failed (it answers 200 with FailedEntryCount > 0, which the SDK's own retries never see).
 */
export class EventPublisher implements EventSink {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly eventBridge: EventBridgeClient,
    private readonly options: EventPublisherOptions,
  ) {
    this.sleep = options.sleep ?? sleep;
  }

  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    // Cheap next to a PutEvents call, and it keeps every published event inside its documented schema.
    for (const event of events) assertValidEvent(event);
    const entries: PutEventsRequestEntry[] = events.map((event) => ({
      EventBusName: this.options.busName,
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Detail: JSON.stringify(event.detail),
    }));
    for (let start = 0; start < entries.length; start += MAX_ENTRIES) {
      await this.putWithRetry(entries.slice(start, start + MAX_ENTRIES));
    }
  }

  private async putWithRetry(batch: PutEventsRequestEntry[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      const result = await this.eventBridge.send(new PutEventsCommand({ Entries: pending }));
      if (!result.FailedEntryCount) return;
      // Results are positional: entry i of the answer belongs to entry i of the request.
      const failed = pending.filter((_, index) => result.Entries?.[index]?.ErrorCode);
      if (attempt >= MAX_ATTEMPTS) {
        const codes = [...new Set(result.Entries?.map((entry) => entry.ErrorCode).filter(Boolean))].join(
          ', ',
        );
        throw new Error(
          `EventBridge rejected ${failed.length} event(s) after ${attempt} attempts (${codes})`,
        );
      }
      pending = failed;
      await this.sleep(backoff(attempt, { base: 100, cap: 2_000 }));
    }
  }
}
