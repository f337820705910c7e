import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import policyChanged from '../../../functions/policy-changed/function';
import { stackWiring } from '../../../local/stack';
import {
  FailingBatches,
  type StreamFailureRecord,
  type StreamFailureSettings,
} from '../../../local/stream-failures';

const NOW = Date.UTC(2026, 0, 1, 12);

/** Stream records with sequence numbers 1..n, created `ageMs` before NOW. */
function records(n: number, ageMs = 1_000): _Record[] {
  return Array.from({ length: n }, (_, index) => ({
    eventID: `e-${index + 1}`,
    eventName: 'MODIFY',
    dynamodb: {
      SequenceNumber: String(index + 1),
      ApproximateCreationDateTime: new Date(NOW - ageMs + index),
    },
  }));
}

const seqs = (batch: readonly _Record[]) => batch.map((record) => Number(record.dynamodb?.SequenceNumber));

/** A FailingBatches over a function that fails on any batch holding a sequence number in `bad`. */
function run(settings: Partial<StreamFailureSettings>, bad: ReadonlySet<number>, sendFails = 0) {
  const invocations: number[][] = [];
  const reported: StreamFailureRecord[] = [];
  let sendFailures = sendFails;
  const batches = new FailingBatches({
    invoke: async (batch) => {
      invocations.push(seqs(batch));
      if (seqs(batch).some((seq) => bad.has(seq))) throw new Error('function error');
    },
    streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/policies/stream/x',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:policy-changed',
    settings: {
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      retryDelayMs: 0,
      ...settings,
    },
    stopped: () => false,
    onFailure: async (record) => {
      if (sendFailures-- > 0) throw new Error('SQS down');
      reported.push(record);
    },
    now: () => NOW,
  });
  return { batches, invocations, reported };
}

describe('the local stream runner treats a failing batch as its mapping says', () => {
  it('retries a failing batch exactly maximumRetryAttempts times, then reports it and moves on', async () => {
    const { batches, invocations, reported } = run({ maximumRetryAttempts: 5 }, new Set([2]));
    await batches.deliver('shard-1', records(3));
    expect(invocations).toEqual(Array.from({ length: 6 }, () => [1, 2, 3]));
    expect(batches.failed).toBe(1);
    expect(reported).toEqual([
      {
        requestContext: {
          requestId: expect.any(String),
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:policy-changed',
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: 6,
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        timestamp: new Date(NOW).toISOString(),
        DDBStreamBatchInfo: {
          shardId: 'shard-1',
          startSequenceNumber: '1',
          endSequenceNumber: '3',
          approximateArrivalOfFirstRecord: expect.any(String),
          approximateArrivalOfLastRecord: expect.any(String),
          batchSize: 3,
          streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/policies/stream/x',
        },
      },
    ]);
  });

  it('bisects a failing batch down to the bad record, in order, without spending retries on the splits', async () => {
    const { batches, invocations, reported } = run(
      { bisectBatchOnFunctionError: true, maximumRetryAttempts: 2 },
      new Set([3]),
    );
    await batches.deliver('shard-1', records(4));
    expect(invocations).toEqual([[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [3], [4]]);
    expect(reported.map((record) => record.DDBStreamBatchInfo)).toEqual([
      expect.objectContaining({ startSequenceNumber: '3', endSequenceNumber: '3', batchSize: 1 }),
    ]);
  });

  it('gives up on records older than maximumRecordAgeSeconds without invoking', async () => {
    const { batches, invocations, reported } = run({ maximumRecordAgeSeconds: 60 }, new Set(), 0);
    await batches.deliver('shard-1', records(2, 61_000));
    expect(invocations).toEqual([]);
    expect(reported.map((record) => record.requestContext)).toEqual([
      expect.objectContaining({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 }),
    ]);
  });

  it('stops retrying once the records outlive maximumRecordAgeSeconds during the retries', async () => {
    let clock = NOW;
    const invocations: number[] = [];
    const reported: StreamFailureRecord[] = [];
    const batches = new FailingBatches({
      invoke: async () => {
        invocations.push(clock);
        clock += 20_000;
        throw new Error('function error');
      },
      streamArn: 's',
      functionArn: 'f',
      settings: {
        bisectBatchOnFunctionError: false,
        maximumRetryAttempts: -1,
        maximumRecordAgeSeconds: 60,
        retryDelayMs: 0,
      },
      stopped: () => false,
      onFailure: async (record) => void reported.push(record),
      now: () => clock,
    });
    await batches.deliver('shard-1', records(1, 0));
    // Ages 0, 20, 40, 60 s are invoked; at 80 s the record is too old.
    expect(invocations).toHaveLength(4);
    expect(reported.map((record) => record.requestContext.condition)).toEqual(['RecordAgeExceeded']);
  });

  it('without limits (Lambda defaults) retries until the function succeeds, reporting nothing', async () => {
    let failures = 25;
    const batches = new FailingBatches({
      invoke: async () => {
        if (failures-- > 0) throw new Error('down');
      },
      streamArn: 's',
      functionArn: 'f',
      settings: {
        bisectBatchOnFunctionError: false,
        maximumRetryAttempts: -1,
        maximumRecordAgeSeconds: -1,
        retryDelayMs: 0,
      },
      stopped: () => false,
      onFailure: async () => {
        throw new Error('no batch is given up on');
      },
    });
    await batches.deliver('shard-1', records(2));
    expect(failures).toBe(-1);
    expect(batches.failed).toBe(0);
  });

  it('keeps offering a record to the on-failure destination until it takes it', async () => {
    const { batches, reported } = run({ maximumRetryAttempts: 0 }, new Set([1]), 3);
    await batches.deliver('shard-1', records(1));
    expect(reported).toHaveLength(1);
  });

  it("runs policy-changed's stream with its declaration's settings", () => {
    const stream = stackWiring().find((fn) => fn.name === 'policy-changed')?.trigger;
    const declared = policyChanged.trigger;
    expect(stream).toMatchObject({
      bisectBatchOnFunctionError: declared.bisectBatchOnFunctionError,
      maximumRetryAttempts: declared.maximumRetryAttempts,
      maximumRecordAgeSeconds: declared.maximumRecordAgeSeconds,
      onFailureQueue: declared.onFailure.queue,
    });
  });
});
