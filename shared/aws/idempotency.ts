import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { BatchedIdempotencyStore } from './idempotency-store';

/** The idempotency records of onboarding are `onboard-users#<hash of the key>`, whatever the function is called. */
export const IDEMPOTENCY_KEY_PREFIX = 'onboard-users';

export interface IdempotentRunner<T> {
  /** Runs `work` once per key; `replayed` is true when an earlier run completed it and its result is returned. */
  once(key: string, work: () => Promise<T>): Promise<{ readonly result: T; readonly replayed: boolean }>;
  /** Lets an in-progress record expire with the invocation, so a crash blocks retries only that long. */
  registerLambdaContext(context: Context): void;
}

/**
 * Powertools idempotency on the idempotency table (key attribute `id`, TTL attribute `expiration`, as
 * infra/tables.json defines it), its records written a batch at a time by BatchedIdempotencyStore.
 * Powertools deletes the INPROGRESS record when `work` throws, so a failed attempt never blocks its retry;
 * if that delete fails too, the record expires with the invocation.
 */
export function dynamoIdempotency<T>(
  dynamo: DynamoDBClient,
  options: { readonly tableName: string; readonly expiresAfterSeconds: number },
): IdempotentRunner<T> {
  const config = new IdempotencyConfig({
    // The function below receives `{ key }`: the idempotency key is the request's key (its
    // ClientRequestToken), hashed by Powertools into the record id.
    eventKeyJmesPath: 'key',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: options.expiresAfterSeconds,
  });
  const persistenceStore = new BatchedIdempotencyStore(dynamo, {
    tableName: options.tableName,
    keyAttr: 'id',
    expiryAttr: 'expiration',
  });
  const runOnce = makeIdempotent(
    async (_idempotency: { readonly key: string }, work: () => Promise<T>) => work(),
    { persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX, dataIndexArgument: 0 },
  );
  return {
    async once(key, work) {
      let executed = false;
      const result = await runOnce({ key }, () => {
        executed = true;
        return work();
      });
      return { result, replayed: !executed };
    },
    registerLambdaContext: (context) => config.registerLambdaContext(context),
  };
}
