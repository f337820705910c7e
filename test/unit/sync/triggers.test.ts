import { describe, expect, it } from 'vitest';
import { type ReconcileMessage, reconcileMessageSchema } from '../../../shared/contracts/reconcile-messages';
import type { StoredPolicy } from '../../../shared/contracts/stored-policy';
import { onPolicyChanged, type PolicyChange } from '../../../shared/sync/policy-changed';
import { newRunId } from '../../../shared/sync/run-lifecycle';
import { scheduleSync } from '../../../shared/sync/schedule';

function recordingQueue() {
  const sent: ReconcileMessage[] = [];
  return { sent, send: async (messages: readonly ReconcileMessage[]) => void sent.push(...messages) };
}

const stored = (tenantId: string, enabled: boolean) =>
  ({ tenantId, version: 1, updatedAt: '', document: {}, policy: { enabled } }) as unknown as StoredPolicy;

describe('scheduleSync', () => {
  it('queues one start message per enabled tenant and skips disabled tenants and running ones', async () => {
    const queue = recordingQueue();
    const result = await scheduleSync({
      policies: {
        list: async () => [stored('a', true), stored('b', false), stored('c', true), stored('d', true)],
      },
      runs: { activeLease: async (tenantId) => (tenantId === 'c' ? 'run-1' : null) },
      queue,
      now: () => 0,
    });
    expect(result.queued).toEqual(['a', 'd']);
    expect(result.skipped).toEqual([
      { tenantId: 'b', reason: 'policy disabled' },
      { tenantId: 'c', reason: 'run run-1 is still going' },
    ]);
    expect(queue.sent).toEqual([
      { kind: 'start', tenantId: 'a', trigger: 'schedule' },
      { kind: 'start', tenantId: 'd', trigger: 'schedule' },
    ]);
    for (const message of queue.sent) expect(reconcileMessageSchema.safeParse(message).success).toBe(true);
  });

  it('sends nothing when no tenant is due', async () => {
    const queue = recordingQueue();
    await scheduleSync({
      policies: { list: async () => [] },
      runs: { activeLease: async () => null },
      queue,
      now: () => 0,
    });
    expect(queue.sent).toEqual([]);
  });
});

describe('onPolicyChanged', () => {
  it.each<[string, PolicyChange[], string[]]>([
    ['a new policy', [{ eventName: 'INSERT', tenantId: 'a', newVersion: 1, enabled: true }], ['a']],
    [
      'a new version',
      [{ eventName: 'MODIFY', tenantId: 'a', oldVersion: 1, newVersion: 2, enabled: true }],
      ['a'],
    ],
    [
      'a disabled policy',
      [{ eventName: 'MODIFY', tenantId: 'a', oldVersion: 1, newVersion: 2, enabled: false }],
      [],
    ],
    ['a removed policy', [{ eventName: 'REMOVE', tenantId: 'a', oldVersion: 3 }], []],
    [
      'a replayed old image',
      [{ eventName: 'MODIFY', tenantId: 'a', oldVersion: 2, newVersion: 2, enabled: true }],
      [],
    ],
    [
      'several puts of one tenant in a batch',
      [
        { eventName: 'MODIFY', tenantId: 'a', oldVersion: 1, newVersion: 2, enabled: true },
        { eventName: 'MODIFY', tenantId: 'a', oldVersion: 2, newVersion: 3, enabled: true },
        { eventName: 'INSERT', tenantId: 'b', newVersion: 1, enabled: true },
      ],
      ['a', 'b'],
    ],
  ])('%s', async (_, changes, expected) => {
    const queue = recordingQueue();
    const result = await onPolicyChanged(changes, queue);
    expect(result.queued).toEqual(expected);
    expect(queue.sent.map((message) => message.tenantId)).toEqual(expected);
    expect(
      queue.sent.every((message) => message.kind === 'start' && message.trigger === 'policy-changed'),
    ).toBe(true);
  });
});

describe('reconcile messages', () => {
  it.each([
    [{ kind: 'start', tenantId: 'acme', trigger: 'schedule' }, true],
    [{ kind: 'start', tenantId: 'acme', trigger: 'cli', approveShortening: true }, true],
    [
      { kind: 'continue', tenantId: 'acme', runId: 'r1', step: 2, cursor: 'abc', counters: { scanned: 50 } },
      true,
    ],
    [{ kind: 'continue', tenantId: 'acme', runId: 'r1', step: -1 }, false],
    [{ kind: 'continue', tenantId: 'acme', runId: 'r1', step: 1.5 }, false],
    [{ kind: 'start', tenantId: 'acme' }, false],
    [{ kind: 'start', tenantId: 'a/b', trigger: 'schedule' }, false],
    [{ kind: 'start', tenantId: 'acme', trigger: 'schedule', extra: 1 }, false],
    [{ kind: 'stop', tenantId: 'acme' }, false],
    ['start acme', false],
  ])('%j valid: %s', (message, valid) => {
    expect(reconcileMessageSchema.safeParse(message).success).toBe(valid);
  });

  it('run ids sort by start time', () => {
    const earlier = newRunId(Date.UTC(2026, 0, 1, 10, 0, 0, 5));
    const later = newRunId(Date.UTC(2026, 0, 1, 10, 0, 0, 6));
    expect(earlier < later).toBe(true);
    expect(earlier).toMatch(/^20260101T100000\.005Z-[0-9a-f]{8}$/);
  });
});
