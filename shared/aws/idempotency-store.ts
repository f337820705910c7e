import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
  PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS,
} from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import {
  type AttributeValue,
  type CancellationReason,
  type DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { backoff, sleep } from '../backoff';
import { batchWriteAll } from './batch-write';
import { allOrNothing, type CoalesceOptions, coalesce, type FlushResult } from './coalesce';

/** TransactWriteItems takes at most 100 items. */
const MAX_TRANSACTION_ITEMS = 100;
/** BatchWriteItem rounds are chunked by batchWriteAll; one flush takes a whole SQS batch's worth. */
const MAX_BATCH_WRITE_ITEMS = 100;
/** Rounds of a transaction whose items were cancelled only because another item failed or conflicted. */
const MAX_TRANSACTION_ROUNDS = 6;

const { statusAttr, dataAttr, inProgressExpiryAttr, validationKeyAttr } = PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS;

export interface BatchedIdempotencyStoreOptions {
  readonly tableName: string;
  /** The table's partition key (infra/tables.json: `id`). */
  readonly keyAttr: string;
  /** The table's TTL attribute (infra/tables.json: `expiration`). */
  readonly expiryAttr: string;
  /** How long records wait for the others of their batch (CoalesceOptions' quietMs and maxWaitMs). */
  readonly timing?: Omit<CoalesceOptions, 'maxItems'>;
}

/**
 * Powertools idempotency records on DynamoDB, written a batch at a time: the same records, conditions and
 * item layout as Powertools' DynamoDBPersistenceLayer (so its state machine — in progress, completed,
 * expired, replay — is unchanged), but the INPROGRESS puts of concurrent records travel in one
 * TransactWriteItems, and the completions and deletions in BatchWriteItem requests.
 *
 * Why not DynamoDBPersistenceLayer: it makes two single-item writes per message (a conditional PutItem and
 * an UpdateItem), which on a batch of 100 are 200 requests where this makes about 10. Powertools documents
 * a custom persistence layer (BasePersistenceLayer) as the way to change how records are stored.
 *
 * A transaction is all or nothing, so when DynamoDB cancels it, each item's CancellationReason says what
 * happened to it: `ConditionalCheckFailed` means the key is taken (its current record, returned with
 * ALL_OLD, goes to Powertools exactly as PutItem's would); the items cancelled only because of another
 * (`None`, `TransactionConflict`, throttling) are sent again in the next round.
 */
export class BatchedIdempotencyStore extends BasePersistenceLayer {
  readonly #client: DynamoDBClient;
  readonly #documents: DynamoDBDocumentClient;
  readonly #options: BatchedIdempotencyStoreOptions;
  readonly #put: (record: IdempotencyRecord) => Promise<void>;
  readonly #complete: (record: IdempotencyRecord) => Promise<void>;
  readonly #delete: (record: IdempotencyRecord) => Promise<void>;

  constructor(client: DynamoDBClient, options: BatchedIdempotencyStoreOptions) {
    super();
    this.#client = client;
    this.#documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#options = options;
    const timing = options.timing ?? {};
    this.#put = coalesce((records) => this.#putInProgress(records), {
      ...timing,
      maxItems: MAX_TRANSACTION_ITEMS,
    });
    this.#complete = coalesce(
      (records) =>
        allOrNothing(records, () =>
          batchWriteAll(
            this.#documents,
            this.#options.tableName,
            lastPerKey(records).map((record) => ({ PutRequest: { Item: this.#completedItem(record) } })),
          ),
        ),
      { ...timing, maxItems: MAX_BATCH_WRITE_ITEMS },
    );
    this.#delete = coalesce(
      (records) =>
        allOrNothing(records, () =>
          batchWriteAll(
            this.#documents,
            this.#options.tableName,
            lastPerKey(records).map((record) => ({
              DeleteRequest: { Key: { [this.#options.keyAttr]: record.idempotencyKey } },
            })),
          ),
        ),
      { ...timing, maxItems: MAX_BATCH_WRITE_ITEMS },
    );
  }

  protected override _putRecord(record: IdempotencyRecord): Promise<void> {
    return this.#put(record);
  }

  /** Powertools writes the completed record with an unconditional UpdateItem; a whole-item put is the same here. */
  protected override _updateRecord(record: IdempotencyRecord): Promise<void> {
    return this.#complete(record);
  }

  protected override _deleteRecord(record: IdempotencyRecord): Promise<void> {
    return this.#delete(record);
  }

  /** Only read when a conflicting put returned no item: rare, so one GetItem as Powertools does. */
  protected override async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const result = await this.#client.send(
      new GetItemCommand({
        TableName: this.#options.tableName,
        Key: marshall({ [this.#options.keyAttr]: idempotencyKey }),
        ConsistentRead: true,
      }),
    );
    if (!result.Item) throw new IdempotencyItemNotFoundError();
    return this.#recordOf(result.Item);
  }

  async #putInProgress(records: readonly IdempotencyRecord[]): Promise<FlushResult> {
    const results: (undefined | Error)[] = records.map(() => undefined);
    // A key twice in one flush (one message delivered twice at once): a transaction may not name an item
    // twice, and the second is taken by the first anyway.
    const firstOfKey = new Map<string, number>();
    let pending: number[] = [];
    records.forEach((record, index) => {
      if (firstOfKey.has(record.idempotencyKey)) {
        results[index] = new IdempotencyItemAlreadyExistsError(
          `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        );
      } else {
        firstOfKey.set(record.idempotencyKey, index);
        pending.push(index);
      }
    });
    for (let round = 1; pending.length > 0; round++) {
      const retry: number[] = [];
      try {
        await this.#client.send(
          new TransactWriteItemsCommand({
            TransactItems: pending.map((index) => ({ Put: this.#conditionalPut(records[index]) })),
          }),
        );
        break;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException) || !error.CancellationReasons) {
          for (const index of pending) results[index] = asError(error);
          break;
        }
        error.CancellationReasons.forEach((reason, position) => {
          const index = pending[position] as number;
          const verdict = this.#verdict(reason, records[index] as IdempotencyRecord);
          if (verdict === 'again') retry.push(index);
          else results[index] = verdict;
        });
      }
      if (retry.length > 0 && round >= MAX_TRANSACTION_ROUNDS) {
        for (const index of retry)
          results[index] = new Error(`the idempotency record could not be written in ${round} transactions`);
        break;
      }
      pending = retry;
      if (pending.length > 0) await sleep(backoff(round, { base: 10, cap: 500 }));
    }
    return results;
  }

  /** What a cancelled transaction means for one of its items: a result, or `again` (send it once more). */
  #verdict(reason: CancellationReason, record: IdempotencyRecord): Error | 'again' {
    switch (reason.Code) {
      case 'ConditionalCheckFailed':
        return new IdempotencyItemAlreadyExistsError(
          `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
          reason.Item ? this.#recordOf(reason.Item) : undefined,
        );
      case undefined:
      case 'None':
      case 'TransactionConflict':
      case 'ThrottlingError':
      case 'ProvisionedThroughputExceeded':
      case 'RequestLimitExceeded':
        return 'again';
      default:
        return new Error(`DynamoDB refused the idempotency record: ${reason.Code}`);
    }
  }

  /** Powertools' own condition: the key is free, its record expired, or an in-progress record timed out. */
  #conditionalPut(record: IdempotencyRecord | undefined) {
    if (!record) throw new Error('no record at this position');
    const now = Date.now();
    const item: Record<string, unknown> = {
      [this.#options.keyAttr]: record.idempotencyKey,
      [this.#options.expiryAttr]: record.expiryTimestamp,
      [statusAttr]: record.getStatus(),
      [inProgressExpiryAttr]: record.inProgressExpiryTimestamp,
      ...(this.isPayloadValidationEnabled() && record.payloadHash !== undefined
        ? { [validationKeyAttr]: record.payloadHash }
        : {}),
    };
    return {
      TableName: this.#options.tableName,
      Item: marshall(item, { removeUndefinedValues: true }),
      ConditionExpression:
        'attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)',
      ExpressionAttributeNames: {
        '#id': this.#options.keyAttr,
        '#expiry': this.#options.expiryAttr,
        '#in_progress_expiry': inProgressExpiryAttr,
        '#status': statusAttr,
      },
      ExpressionAttributeValues: marshall({
        ':now': now / 1000,
        ':now_in_millis': now,
        ':inprogress': IdempotencyRecordStatus.INPROGRESS,
      }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }

  #completedItem(record: IdempotencyRecord): Record<string, unknown> {
    return {
      [this.#options.keyAttr]: record.idempotencyKey,
      [this.#options.expiryAttr]: record.expiryTimestamp,
      [statusAttr]: record.getStatus(),
      [dataAttr]: record.responseData,
      ...(this.isPayloadValidationEnabled() ? { [validationKeyAttr]: record.payloadHash } : {}),
    };
  }

  #recordOf(raw: Record<string, AttributeValue>): IdempotencyRecord {
    const item = unmarshall(raw);
    return new IdempotencyRecord({
      idempotencyKey: item[this.#options.keyAttr],
      status: item[statusAttr],
      expiryTimestamp: item[this.#options.expiryAttr],
      inProgressExpiryTimestamp: item[inProgressExpiryAttr],
      responseData: item[dataAttr],
      payloadHash: item[validationKeyAttr],
    });
  }
}

/** One write per key: BatchWriteItem refuses a request naming an item twice. */
function lastPerKey(records: readonly IdempotencyRecord[]): IdempotencyRecord[] {
  return [...new Map(records.map((record) => [record.idempotencyKey, record])).values()];
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
