/**
 * Renewal of active users (issue 12): 10,000 users active every day for 60 simulated days.
 * - Chime writes: every day, each user is decided by the policy engine the reconciler runs (`decide`, with
 *   the user's ledger state and last activity), and a write is counted exactly when the reconciler would make
 *   one. In memory: 600,000 decisions against the emulator would only measure the emulator.
 * - Ingestion: one simulated day of activity (three events per user, in queue-sized batches of 100, shuffled)
 *   recorded into DynamoDB Local through the real ActivityStore (one conditional UpdateItem per user and batch):
 *   events per second, and DynamoDB writes per event.
 */
import { randomUUID } from 'node:crypto';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { isolatedConfig } from '../local/environment';
import { recordActivity } from '../shared/activity/record';
import { ActivityStore } from '../shared/aws/activity';
import { ensureTables } from '../shared/aws/tables';
import { Runtime } from '../shared/composition-root';
import type { ActivityEvent } from '../shared/contracts/activity';
import { compilePolicy, DAY_MS, decide, parsePolicy, renewalWritesPerMonthBound } from '../shared/policy';
import type { BenchRow, BenchSection } from './lib';

const USERS = Number(process.env.BENCH_RENEWAL_USERS ?? 10_000);
const DAYS = 60;
const INACTIVE_DAYS = [7, 30, 90];
const EVENTS_PER_USER = 3;
const BATCH = 100;

function writesOverDays(inactiveDays: number): {
  writes: number;
  adoptions: number;
  minRemainingDays: number;
  decisions: number;
} {
  const parsed = parsePolicy({
    tenantId: 'bench',
    appInstanceArn: 'arn:aws:chime:us-east-1:123456789012:app-instance/bench',
    rules: [],
    default: { expiration: { inactiveDays } },
    notify: { horizons: [Math.min(7, inactiveDays)] },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const policy = compilePolicy(parsed.policy);
  const t0 = Date.UTC(2026, 0, 1);
  // Users created over the day before, each active at its own time of day (spread, as real traffic is).
  const users = Array.from({ length: USERS }, (_, index) => ({
    appInstanceUserId: `u-${index}`,
    createdAt: t0 - (index / USERS) * DAY_MS,
    offset: ((index * 7919) % USERS) / USERS,
    expirationDays: undefined as number | undefined,
  }));
  let writes = 0;
  let adoptions = 0;
  let decisions = 0;
  let minRemaining = Number.POSITIVE_INFINITY;
  for (let day = 0; day < DAYS; day++) {
    // The hourly sync: decided at noon with the activity of the day so far.
    const now = t0 + day * DAY_MS + DAY_MS / 2;
    for (const user of users) {
      const lastActiveAt = t0 + day * DAY_MS + user.offset * (DAY_MS / 2);
      const decision = decide(
        policy,
        user,
        { createdAt: user.createdAt, expirationDays: user.expirationDays, lastActiveAt },
        now,
      );
      decisions++;
      if (decision.desired.kind === 'set') {
        // The first write gives a user without an expiry its first one (adoption), whatever the policy;
        // renewal writes are the ones after it.
        if (user.expirationDays === undefined) adoptions++;
        else writes++;
        user.expirationDays = decision.desired.days;
      }
      if (user.expirationDays !== undefined) {
        minRemaining = Math.min(minRemaining, user.createdAt + user.expirationDays * DAY_MS - now);
      }
    }
  }
  return { writes, adoptions, minRemainingDays: minRemaining / DAY_MS, decisions };
}

async function ingestion(): Promise<{ events: number; updates: number; seconds: number; advanced: number }> {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'us-east-1';
  const dynamo = await startDynamoDbLocal();
  const config = isolatedConfig(`bench${randomUUID().slice(0, 6)}`);
  const runtime = new Runtime(config, { endpoints: { dynamodb: dynamo.url } });
  try {
    await ensureTables(runtime.dynamo, config);
    const store = new ActivityStore(runtime.documents, config.stateTable);
    let updates = 0;
    const counting = {
      record: (event: ActivityEvent) => {
        updates++;
        return store.record(event);
      },
    };
    const t0 = Date.UTC(2026, 0, 1);
    // A queue batch of 100 holds the sessions of 33 users, three events each, interleaved.
    const usersPerBatch = Math.floor(BATCH / EVENTS_PER_USER);
    const batches: ActivityEvent[][] = [];
    for (let first = 0; first < USERS; first += usersPerBatch) {
      const batch: ActivityEvent[] = [];
      for (let round = 0; round < EVENTS_PER_USER; round++) {
        for (let index = first; index < Math.min(USERS, first + usersPerBatch); index++) {
          batch.push({ tenantId: 'bench', appInstanceUserId: `u-${index}`, at: t0 + index * 1_000 + round });
        }
      }
      batches.push(batch);
    }
    // Warm-up: connections and DynamoDB Local's JIT.
    for (const batch of batches.slice(0, 5)) {
      await recordActivity(
        batch.map((event) => ({ ...event, tenantId: 'warmup' })),
        store,
      );
    }
    let advanced = 0;
    let events = 0;
    const started = performance.now();
    // Two consumers, as the deployed mapping's maximum concurrency allows.
    let next = 0;
    const consumer = async () => {
      while (next < batches.length) {
        const batch = batches[next++] as ActivityEvent[];
        events += batch.length;
        const tally = await recordActivity(batch, counting);
        advanced += tally.advanced;
      }
    };
    await Promise.all([consumer(), consumer()]);
    const seconds = (performance.now() - started) / 1000;
    return { events, updates, seconds, advanced };
  } finally {
    runtime.destroy();
    await dynamo.close();
  }
}

export async function run(): Promise<BenchSection[]> {
  const monthly: BenchRow[] = [];
  const notes: string[] = [];
  for (const inactiveDays of INACTIVE_DAYS) {
    const result = writesOverDays(inactiveDays);
    const perUserPerMonth = result.writes / USERS / (DAYS / 30);
    monthly.push({
      metric: `Chime renewal writes per user per month, inactiveDays ${inactiveDays}`,
      value: perUserPerMonth,
      unit: 'writes',
      baseline: { label: 'one write a day', value: 30 },
      goal: { op: '<=', value: renewalWritesPerMonthBound(inactiveDays) },
    });
    monthly.push({
      metric: `least time left before expiry, inactiveDays ${inactiveDays}`,
      value: result.minRemainingDays,
      unit: 'days',
      goal: { op: '>=', value: inactiveDays / 2 - 1 },
    });
    notes.push(
      `inactiveDays ${inactiveDays}: ${result.writes.toLocaleString('en-US')} renewal writes (plus ${result.adoptions.toLocaleString('en-US')} first writes on day 0, one per user) in ${result.decisions.toLocaleString('en-US')} decisions`,
    );
  }
  const ingest = await ingestion();
  return [
    {
      title: `Renewal: ${USERS.toLocaleString('en-US')} users active daily over ${DAYS} simulated days`,
      notes: [
        "each day every user is decided by `decide` (the reconciler's engine) with its last activity; a write counted whenever the reconciler would write",
        ...notes,
      ],
      rows: monthly,
    },
    {
      title: 'Activity ingestion into DynamoDB Local (ActivityStore, batches of 99, two consumers)',
      notes: [
        `${ingest.events.toLocaleString('en-US')} events (${EVENTS_PER_USER} per user, one simulated day), coalesced per batch, one conditional UpdateItem per user and batch, 16 in flight`,
        `${ingest.advanced.toLocaleString('en-US')} updates moved lastActiveAt forward`,
      ],
      rows: [
        {
          metric: 'activity events ingested per second',
          value: ingest.events / ingest.seconds,
          unit: 'events/s',
        },
        {
          metric: 'DynamoDB writes per event',
          value: ingest.updates / ingest.events,
          unit: 'writes',
          baseline: { label: 'one write per event', value: 1 },
          goal: { op: '<=', value: 1 },
        },
      ],
    },
  ];
}
