import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { PolicyStore, StoredPolicyInvalidError } from '../../../shared/aws/policy-store';
import { QueueDriver } from '../../../shared/aws/queue-driver';
import { type ReconcileMessage, reconcileMessageSchema } from '../../../shared/contracts/reconcile-messages';
import { isRetryable, LifecycleError, TerminalError } from '../../../shared/errors';
import { reconcileStep } from '../../../shared/sync/reconcile-step';
import { appInstanceArn, policyDocument } from '../../fixtures/policies';
import { FakeTransport, reconcileFakes, recordingLog, sqsRecord } from '../../support/fakes';

/** The policy table as DynamoDB returns one item: whatever was stored, read back. */
function storeHolding(item: Record<string, unknown>): PolicyStore {
  const documents = { send: async () => ({ Item: item }) } as unknown as DynamoDBDocumentClient;
  return new PolicyStore(documents, { policyTable: 'policies', stateTable: 'state' });
}

const valid = JSON.stringify(policyDocument('acme', appInstanceArn('acme')));
const item = (documentJson: string) => ({ tenantId: 'acme', version: 3, updatedAt: 'x', documentJson });

/** Stored items no reader can turn into a policy: each is terminal, however often it is read again. */
const UNREADABLE: readonly {
  readonly what: string;
  readonly documentJson: string;
  readonly detail: RegExp;
}[] = [
  { what: 'not JSON', documentJson: '{"tenantId": "acme",', detail: /not valid JSON/ },
  {
    what: 'a duplicate key',
    documentJson: '{"tenantId":"acme","tenantId":"acme"}',
    detail: /not valid JSON/,
  },
  {
    what: 'a rule with 0 days',
    documentJson: valid.replace(/"days":\s*\d+/, '"days":0'),
    detail: /is not valid: .*days/,
  },
  { what: 'no appInstanceArn', documentJson: '{"tenantId":"acme","rules":[]}', detail: /appInstanceArn/ },
];

describe('a stored policy that cannot be read', () => {
  it.each(UNREADABLE)('$what: a terminal LifecycleError with its reason and the tenant', async (c) => {
    const error = await storeHolding(item(c.documentJson))
      .get('acme')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoredPolicyInvalidError);
    expect(error).toBeInstanceOf(TerminalError);
    expect(error).toBeInstanceOf(LifecycleError);
    expect(isRetryable(error)).toBe(false);
    const terminal = error as TerminalError;
    expect(terminal.reason).toBe('stored-policy-invalid');
    expect(terminal.detail).toMatch(/tenant "acme"/);
    expect(terminal.detail).toMatch(c.detail);
  });

  it('is read as it was stored when it is valid (the check is not a refusal of everything)', async () => {
    expect((await storeHolding(item(valid)).get('acme'))?.version).toBe(3);
  });

  it('dead-letters the reconcile message at once with its reason, on its first receive', async () => {
    const fakes = reconcileFakes();
    const policies = storeHolding(item('{"tenantId":'));
    const transport = new FakeTransport(5);
    const driver = new QueueDriver<ReconcileMessage>({
      kind: 'reconcile',
      schema: reconcileMessageSchema,
      transport,
      retry: { baseSeconds: 30, capSeconds: 900 },
      log: recordingLog(),
      random: () => 0,
      // As reconcile-tenant's handler answers the driver.
      handle: async (message) => {
        const result = await reconcileStep(message, fakes.deps({ policies }));
        return result.kind === 'retryAfter' ? { retry: result.error } : undefined;
      },
    });
    const start: ReconcileMessage = { kind: 'start', tenantId: 'acme', trigger: 'schedule' };
    const response = await driver.run(
      { Records: [sqsRecord(JSON.stringify(start), { receiveCount: 1 })] },
      {} as Context,
    );
    // Processed (not failed back to the queue), not delayed: dead-lettered with the reason.
    expect(response.batchItemFailures).toEqual([]);
    expect(transport.visibility).toEqual([]);
    expect(transport.deadLetters).toEqual([
      {
        messageId: 'm-1',
        reason: 'stored-policy-invalid',
        detail: expect.stringMatching(/^the stored policy of tenant "acme" is not valid JSON/),
      },
    ]);
    expect(fakes.runs.records.size).toBe(0);
  });
});
