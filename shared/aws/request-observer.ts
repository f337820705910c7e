import type { InitializeMiddleware, MetadataBearer } from '@smithy/types';

/**
 * What a request to DynamoDB, SQS or EventBridge cost, as a benchmark counts it (bench/cost): one record per
 * request sent (SDK retries are not seen here). Carries no request content.
 */
export interface AwsRequestRecord {
  readonly service: 'dynamodb' | 'sqs' | 'eventbridge';
  /** The API name, e.g. `BatchGetItem`, `SendMessageBatch`, `PutEvents`. */
  readonly operation: string;
  /** DynamoDB: the capacity units it consumed (ReturnConsumedCapacity TOTAL), summed over its tables. */
  readonly capacityUnits?: number;
  /** DynamoDB: whether the operation is billed as read (RRU) or write (WRU) request units. */
  readonly capacity?: 'read' | 'write';
  /** PutEvents and the SQS batch operations: how many entries the request carried. */
  readonly entries?: number;
}

export type AwsRequestObserver = (record: AwsRequestRecord) => void;

/** The DynamoDB operations that accept ReturnConsumedCapacity, and how on-demand mode bills them. */
const DYNAMODB_CAPACITY: Readonly<Record<string, 'read' | 'write'>> = {
  GetItem: 'read',
  BatchGetItem: 'read',
  Query: 'read',
  Scan: 'read',
  TransactGetItems: 'read',
  PutItem: 'write',
  UpdateItem: 'write',
  DeleteItem: 'write',
  BatchWriteItem: 'write',
  TransactWriteItems: 'write',
};

function operationOf(commandName: unknown): string {
  const name = typeof commandName === 'string' ? commandName : 'Unknown';
  return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
}

function capacityUnitsOf(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  let total = 0;
  for (const entry of list) {
    const units = (entry as { CapacityUnits?: unknown } | null)?.CapacityUnits;
    if (typeof units === 'number') total += units;
  }
  return total;
}

function entriesOf(input: unknown): number | undefined {
  const entries = (input as { Entries?: unknown } | null)?.Entries;
  return Array.isArray(entries) ? entries.length : undefined;
}

/**
 * Reports every request of a client to `observer`. For DynamoDB it asks for the consumed capacity
 * (ReturnConsumedCapacity TOTAL) on the operations that take it, so that the real adapters' own calls say
 * what they cost without any of them being changed. Only benchmarks attach it (Runtime option
 * `observeRequests`); in production no request asks for anything more.
 */
export function observeRequests<C extends { readonly middlewareStack: object }>(
  client: C,
  service: AwsRequestRecord['service'],
  observer: AwsRequestObserver,
): C {
  const middleware: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const operation = operationOf(context.commandName);
    const capacity = service === 'dynamodb' ? DYNAMODB_CAPACITY[operation] : undefined;
    const input = args.input as Record<string, unknown>;
    if (capacity && input.ReturnConsumedCapacity === undefined) input.ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    const entries = entriesOf(input);
    observer({
      service,
      operation,
      ...(capacity
        ? {
            capacity,
            capacityUnits: capacityUnitsOf(
              (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity,
            ),
          }
        : {}),
      ...(entries === undefined ? {} : { entries }),
    });
    return result;
  };
  // The middleware touches only the input's top level and the output's ConsumedCapacity: it fits any client.
  (client.middlewareStack as unknown as { add(m: unknown, o: object): void }).add(middleware, {
    step: 'initialize',
    name: 'chimeLifecycleRequestObserver',
  });
  return client;
}
