/**
 * `npm run bench -- cost` (issue 20): what chime-lifecycle costs a month for a steady state of 100,000 users in
 * 10 tenants synced hourly, with 1,000 onboardings a day, at the on-demand list prices of prices.ts.
 *
 * Measured, not assumed: the real use cases (schedule-sync, reconcile-tenant steps, onboarding) against
 * DynamoDB Local, the Chime emulator, a local SQS and EventBridge, through Runtimes that report every
 * DynamoDB request's consumed capacity (ReturnConsumedCapacity, added by a middleware: no adapter changed)
 * and every SQS and EventBridge request. Lambda durations are the invocations' wall times at the real Chime
 * quotas (the clients' limiters at scale 1), times each function's declared memory.
 *
 * Kept short by scaling down: 10 tenants of BENCH_COST_USERS (two sizes, default 500 and 1,000 users each);
 * requests and capacity units are fitted as a + b × users-per-tenant and extrapolated to 10,000, which is
 * only valid for what grows linearly with users (ledger reads and writes per user, a list page per 50 users)
 * and is said so in the output; reconcile-tenant's time is the larger size's plus the pages more at the
 * measured time per page (floored at the list quota's pace).
 */
import { randomUUID } from 'node:crypto';
import { type ConsumedCapacity, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { startChimeEmulator } from '../../emulator';
import { startDynamoDbLocal } from '../../local/dynamodb-local';
import { startLocalEventBridge } from '../../local/eventbridge-server';
import { startSqsServer } from '../../local/sqs-server';
import type { BenchSection } from '../lib';
import { positiveFromEnv } from '../lib';
import { population } from '../sync-stack';
import { Meter, type Usage } from './meter';
import type { Measured } from './model';
import { onboardings } from './onboarding';
import { costSections } from './report';
import { buildWorld, type Services, scheduledSync } from './world';

const TENANTS = 10;
const TARGET_USERS_PER_TENANT = 10_000;
const ONBOARDINGS_PER_DAY = 1_000;
/** reconcile-tenant's maximumConcurrency as deployed (infra/params.ts reconcileConcurrency). */
const RECONCILE_CONCURRENCY = 5;
const HOUR = 3_600_000;

function sizes(): [number, number] {
  const raw = process.env.BENCH_COST_USERS?.trim() || '500,1000';
  const parsed = raw.split(',').map((part) => Number(part.trim()));
  const [small, large] = parsed;
  if (
    parsed.length !== 2 ||
    !small ||
    !large ||
    !(small > 0 && large > small) ||
    !parsed.every(Number.isInteger)
  ) {
    throw new Error(`BENCH_COST_USERS must be two increasing whole numbers such as 250,500, got "${raw}"`);
  }
  return [small, large];
}

/** RRU of a strongly consistent Query of one tenant's whole ledger partition, per user in it. */
async function ledgerQueryUnitsPerUser(endpoint: string, table: string, tenantId: string, users: number) {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1' });
  let units = 0;
  let startKey: Record<string, unknown> | undefined;
  try {
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `LEDGER#${tenantId}` } },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
          ...(startKey ? { ExclusiveStartKey: startKey as never } : {}),
        }),
      );
      units += (page.ConsumedCapacity as ConsumedCapacity | undefined)?.CapacityUnits ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } finally {
    client.destroy();
  }
  return units / users;
}

export async function run(): Promise<BenchSection[]> {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'us-east-1';
  const [small, large] = sizes();
  const onboardedCount = Math.round(positiveFromEnv('BENCH_COST_ONBOARDINGS', 50));
  const dynamo = await startDynamoDbLocal();
  // Quotas scaled up in the emulator only: the clients' limiters pace at the real ones (scale 1), so the
  // emulator never throttles and every wait is the product's own pacing, as against AWS.
  const emulator = await startChimeEmulator({ port: 0, quotaScale: 20 });
  const eventBridge = await startLocalEventBridge();
  const sqs = await startSqsServer();
  const services: Services = {
    emulator,
    endpoints: { dynamodb: dynamo.url, chime: emulator.url, sqs: sqs.url, eventbridge: eventBridge.url },
  };
  const meter = new Meter();
  const t0 = Date.now();
  const quiet: Usage[] = [];
  const refresh: Usage[] = [];
  let onboarding: Usage | undefined;
  let queryUnits = 0;
  try {
    for (const users of [small, large]) {
      const prefix = `cost${randomUUID().slice(0, 6)}`;
      const world = await buildWorld(services, meter, {
        prefix,
        tenants: TENANTS,
        usersPerTenant: users,
        reconcileConcurrency: RECONCILE_CONCURRENCY,
        t0,
      });
      try {
        quiet.push(await meter.measure(() => scheduledSync(world, meter, t0 + HOUR)));
        refresh.push(await meter.measure(() => scheduledSync(world, meter, t0 + 25 * HOUR)));
        if (users === large) {
          onboarding = await meter.measure(() => onboardings(world, meter, onboardedCount));
          queryUnits = await ledgerQueryUnitsPerUser(
            dynamo.url,
            world.config.stateTable,
            world.tenantIds[0] as string,
            users,
          );
        }
      } finally {
        world.close();
      }
    }
  } finally {
    await sqs.close();
    await eventBridge.close();
    await emulator.close();
    await dynamo.close();
  }
  const measured: Measured = {
    tenants: TENANTS,
    sizes: [small, large],
    quiet: [quiet[0] as Usage, quiet[1] as Usage],
    refresh: [refresh[0] as Usage, refresh[1] as Usage],
    onboarding: onboarding as Usage,
    onboardedCount,
    ledgerQueryUnitsPerUser: queryUnits,
    userIds: population(TARGET_USERS_PER_TENANT, t0).map((user) => user.appInstanceUserId),
    verifyIntervalDays: 30,
  };
  return costSections(measured, {
    usersPerTenant: TARGET_USERS_PER_TENANT,
    onboardingsPerDay: ONBOARDINGS_PER_DAY,
  });
}
