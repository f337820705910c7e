import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoIdempotency } from '../../../shared/aws/idempotency';
import type { Runtime } from '../../../shared/composition-root';
import { testRuntime } from '../../support/stack';

/**
 * The batched Powertools persistence layer (shared/aws/idempotency-store.ts) on DynamoDB Local: every state
 * of Powertools' record machine, with the requests it costs counted at the SDK client.
 */
let runtime: Runtime;
const requests = new Map<string, number>();

beforeAll(async () => {
  runtime = await testRuntime();
  runtime.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      requests.set(name, (requests.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
});

afterAll(() => runtime?.destroy());

function store(remainingMs = 60_000) {
  const idempotency = dynamoIdempotency<{ value: string }>(runtime.dynamo, {
    tableName: runtime.config.idempotencyTable,
    expiresAfterSeconds: 3600,
  });
  // As the handler does: an in-progress record expires with the invocation.
  idempotency.registerLambdaContext({ getRemainingTimeInMillis: () => remainingMs } as Context);
  return idempotency;
}

function counted<T>(run: () => Promise<T>): Promise<{ result: T; counts: Record<string, number> }> {
  requests.clear();
  return run().then((result) => ({ result, counts: Object.fromEntries(requests) }));
}

const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;

describe('batched idempotency records', () => {
  it('runs 100 concurrent requests once each with one transaction and four batch writes; a second delivery replays them', async () => {
    const idempotency = store();
    const keys = Array.from({ length: 100 }, (_, index) => unique(`k${index}`));
    let executions = 0;
    const first = await counted(() =>
      Promise.all(
        keys.map((key) =>
          idempotency.once(key, async () => {
            executions++;
            return { value: key };
          }),
        ),
      ),
    );
    expect(executions).toBe(100);
    expect(
      first.result.every((outcome, index) => !outcome.replayed && outcome.result.value === keys[index]),
    ).toBe(true);
    expect(first.counts).toEqual({ TransactWriteItemsCommand: 1, BatchWriteItemCommand: 4 });

    const again = await counted(() =>
      Promise.all(keys.map((key) => idempotency.once(key, async () => ({ value: 'not again' })))),
    );
    expect(executions).toBe(100);
    expect(
      again.result.every((outcome, index) => outcome.replayed && outcome.result.value === keys[index]),
    ).toBe(true);
    // The completed records come back with the cancelled transaction (ALL_OLD): no reads, no writes.
    expect(again.counts).toEqual({ TransactWriteItemsCommand: 1 });
  });

  it('in one batch: a completed key replays, an in-progress key is refused, fresh keys run in a second round', async () => {
    const idempotency = store();
    const [done, busy, fresh1, fresh2] = ['done', 'busy', 'fresh1', 'fresh2'].map(unique) as [
      string,
      string,
      string,
      string,
    ];
    await idempotency.once(done, async () => ({ value: 'stored' }));
    let release = () => {};
    const blocked = idempotency.once(
      busy,
      () =>
        new Promise((resolve) => {
          release = () => resolve({ value: 'b' });
        }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    const ran: string[] = [];
    const work = (key: string) => async () => {
      ran.push(key);
      return { value: key };
    };
    const { result, counts } = await counted(() =>
      Promise.allSettled([done, busy, fresh1, fresh2].map((key) => idempotency.once(key, work(key)))),
    );
    expect(result[0]).toEqual({
      status: 'fulfilled',
      value: { result: { value: 'stored' }, replayed: true },
    });
    expect(result[1]?.status).toBe('rejected');
    expect((result[1] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyAlreadyInProgressError);
    expect(result[2]).toEqual({ status: 'fulfilled', value: { result: { value: fresh1 }, replayed: false } });
    expect(result[3]).toEqual({ status: 'fulfilled', value: { result: { value: fresh2 }, replayed: false } });
    expect(ran.sort()).toEqual([fresh1, fresh2].sort());
    // Round 1 cancelled by the two taken keys, round 2 writes the fresh ones.
    expect(counts.TransactWriteItemsCommand).toBe(2);

    release();
    expect(await blocked).toEqual({ result: { value: 'b' }, replayed: false });
  });

  it('runs a key delivered twice in one batch once', async () => {
    const idempotency = store();
    const key = unique('twice');
    let executions = 0;
    const work = async () => {
      executions++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { value: key };
    };
    const results = await Promise.allSettled([idempotency.once(key, work), idempotency.once(key, work)]);
    expect(executions).toBe(1);
    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(IdempotencyAlreadyInProgressError);
    expect(await idempotency.once(key, work)).toEqual({ result: { value: key }, replayed: true });
  });

  it('deletes the record of a failed attempt (batched), so its retry runs', async () => {
    const idempotency = store();
    const keys = [unique('fail1'), unique('fail2')];
    const failed = await counted(() =>
      Promise.allSettled(
        keys.map((key) =>
          idempotency.once(key, async () => {
            throw new Error('Chime said no');
          }),
        ),
      ),
    );
    expect(failed.result.every((result) => result.status === 'rejected')).toBe(true);
    expect(failed.counts).toEqual({ TransactWriteItemsCommand: 1, BatchWriteItemCommand: 1 });
    const retried = await Promise.all(
      keys.map((key) => idempotency.once(key, async () => ({ value: 'ok' }))),
    );
    expect(retried.map((outcome) => outcome.replayed)).toEqual([false, false]);
  });

  it('takes over an in-progress record whose invocation ran out of time', async () => {
    const idempotency = store(100);
    const key = unique('stale');
    // A crashed invocation: its work never finishes.
    void idempotency.once(key, () => new Promise(() => {}));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const next = store();
    expect(await next.once(key, async () => ({ value: 'taken over' }))).toEqual({
      result: { value: 'taken over' },
      replayed: false,
    });
  });
});
