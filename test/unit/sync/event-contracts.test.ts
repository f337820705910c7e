import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS_DIR, eventSchema, schemaFileName } from '../../../scripts/generate-event-schemas';
import { EventPublisher } from '../../../shared/aws/events';
import {
  assertValidEvent,
  EVENT_TYPES,
  type LifecycleEvent,
} from '../../../shared/contracts/lifecycle-events';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

const counters = {
  scanned: 1,
  pages: 1,
  described: 1,
  unchanged: 0,
  set: 1,
  removed: 0,
  shortening: 0,
  shorteningApplied: 0,
  held: 0,
  rescued: 0,
  unmanaged: 0,
  floored: 0,
  gone: 0,
  chimeCalls: 3,
  protected: 0,
};

describe('event contracts', () => {
  it.each(
    EVENT_TYPES,
  )('docs/events has the up-to-date JSON Schema of "%s" (npm run events:schemas)', (type) => {
    const committed = JSON.parse(readFileSync(join(EVENTS_DIR, schemaFileName(type)), 'utf8'));
    expect(committed).toEqual(eventSchema(type));
  });

  it('accepts a well-formed event and refuses one that breaks its contract, naming the path', () => {
    const good: LifecycleEvent = {
      type: 'Tenant Run Completed',
      detail: { tenantId: 'acme', runId: 'r1', state: 'completed', policyVersion: 2, counters },
    };
    expect(() => assertValidEvent(good)).not.toThrow();
    const bad = { type: 'Tenant Run Completed', detail: { ...good.detail, state: 'held', name: 'Jane' } };
    expect(() => assertValidEvent(bad as unknown as LifecycleEvent)).toThrow(
      /state: .*; \(detail\): .*"name"/,
    );
  });

  it('the events adapter validates before PutEvents: nothing invalid reaches the bus', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const publisher = new EventPublisher(new EventBridgeClient({ region: 'us-east-1' }), { busName: 'bus' });
    const invalid = { type: 'User Rescued', detail: { tenantId: 'acme' } } as unknown as LifecycleEvent;
    await expect(publisher.publish([invalid])).rejects.toThrow(/User Rescued/);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    await publisher.publish([
      {
        type: 'User Rescued',
        detail: {
          tenantId: 'acme',
          runId: 'r',
          appInstanceUserArn: 'arn',
          ruleId: null,
          expirationDays: 365,
        },
      },
    ]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});
