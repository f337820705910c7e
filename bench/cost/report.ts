/** The cost bench's output: the monthly figure, its breakdown, and what would bring the sync under $1. */
import type { BenchRow, BenchSection } from '../lib';
import type { Usage } from './meter';
import {
  DAYS_PER_MONTH,
  type Dollars,
  HOURS_PER_MONTH,
  leanerLedger,
  type Measured,
  memoryGbOf,
  month,
  priced,
  reconcileMs,
} from './model';
import { PRICE_SOURCES, PRICES, PRICES_AS_OF } from './prices';

const money = (value: number) => `$${value.toFixed(value < 0.1 ? 4 : 2)}`;
const total = (dollars: Dollars) => dollars.dynamodb + dollars.lambda + dollars.sqs + dollars.eventBridge;
const seconds = (usage: Usage, fn: string) => (usage.durationMs[fn] ?? 0) / 1000;

function operations(usage: Usage): string {
  return Object.entries(usage.byOperation)
    .filter(([, entry]) => entry.units > 0)
    .sort(([, a], [, b]) => b.units - a.units)
    .map(
      ([operation, entry]) =>
        `${operation} ${(entry.units / 1e6).toFixed(2)}M units in ${(entry.requests / 1e6).toFixed(2)}M requests`,
    )
    .join(', ');
}

export function costSections(
  measured: Measured,
  target: { usersPerTenant: number; onboardingsPerDay: number },
): BenchSection[] {
  const result = month(measured, target);
  const users = measured.tenants * target.usersPerTenant;
  const sync = priced(result.sync);
  const onboarding = priced(result.onboarding);
  const syncGoal = sync.dynamodb + sync.lambda;
  const quietRun = result.quietRun;
  const perTenantRunSeconds = seconds(quietRun, 'reconcile-tenant') / measured.tenants;
  const { msPerPage } = reconcileMs(measured, target.usersPerTenant);
  const pages = Math.ceil(target.usersPerTenant / 50);
  const leaner = priced(leanerLedger(measured, result, target.usersPerTenant)).dynamodb;
  const at128 = priced(result.sync, (fn) => Math.min(memoryGbOf(fn), 0.125)).lambda;
  const [n1, n2] = measured.sizes;
  const notes = [
    `prices: ${PRICES_AS_OF}, from ${PRICE_SOURCES}: DynamoDB $${(PRICES.dynamodb.readRequestUnit * 1e6).toFixed(3)} per million read and $${(PRICES.dynamodb.writeRequestUnit * 1e6).toFixed(3)} per million write request units; Lambda arm64 $${PRICES.lambda.gbSecondArm64} per GB-s and $${(PRICES.lambda.request * 1e6).toFixed(2)} per million requests; SQS $${(PRICES.sqs.request * 1e6).toFixed(2)} per million requests; EventBridge $${(PRICES.eventBridge.event * 1e6).toFixed(2)} per million events`,
    `measured: ${measured.tenants} tenants of ${n1} and of ${n2} users (the bench's population mix, converged by a first sync), an hourly run in which nothing is due and the daily run that rewrites every ledger entry (its sighting), at the real Chime quotas (each reconcile container's limiter at scale 1, ${measured.tenants} tenants through 5 containers as reconcile-tenant's maximum concurrency); ${measured.onboardedCount} onboardings, one per invocation`,
    `extrapolated to ${target.usersPerTenant.toLocaleString('en-US')} users per tenant: requests, capacity units, invocations and events fitted linearly through the two sizes (a + b × users: they grow with users, a ledger read and write per user and a list page per 50); reconcile-tenant's time from the larger size plus the pages more at ${msPerPage.toFixed(0)} ms each (measured, floored at the list quota's 100 ms per page: Lambda waits for Chime's pace); ${HOURS_PER_MONTH.toFixed(1)} hourly runs and ${DAYS_PER_MONTH} daily refreshes a month; ${result.verificationsPerUser.toFixed(2)} verifications per user a month (describe + ledger rewrite, from the users' spread over 15-30 days; their Lambda time modelled at 10 describes/s per tenant)`,
    `one hourly run of all ${measured.tenants} tenants at ${target.usersPerTenant.toLocaleString('en-US')} users each: ${quietRun.readUnits.toFixed(0)} read units, ${quietRun.writeUnits.toFixed(0)} write units, ${(quietRun.invocations['reconcile-tenant'] ?? 0).toFixed(0)} reconcile-tenant invocations of ${perTenantRunSeconds.toFixed(1)} s per tenant (${pages} list pages ≥ ${(pages / 10).toFixed(1)} s at the list quota), ${quietRun.events.toFixed(0)} events`,
    `sync, DynamoDB per month: ${operations(result.sync)}; the daily refresh adds ${(result.refreshes.writeUnits / 1e6).toFixed(2)}M write units, verifications ${(result.verifications.writeUnits / 1e6).toFixed(2)}M`,
    `sync, Lambda per month: reconcile-tenant ${(seconds(result.sync, 'reconcile-tenant') / 3600).toFixed(1)} h at ${memoryGbOf('reconcile-tenant') * 1024} MB (mostly waiting for the list quota), schedule-sync ${(seconds(result.sync, 'schedule-sync') / 3600).toFixed(2)} h`,
    `onboarding (${target.onboardingsPerDay}/day) per month: DynamoDB ${money(onboarding.dynamodb)}, Lambda ${money(onboarding.lambda)}, SQS ${money(onboarding.sqs)} (the producer's send, the event source's receive and delete), EventBridge ${money(onboarding.eventBridge)}`,
    `what would get the sync under $1 (DynamoDB + Lambda): reading the tenant's ledger once per run with a strongly consistent Query of its partition (measured: ${measured.ledgerQueryUnitsPerUser.toFixed(4)} read units per user, against 1 per user per page by BatchGetItem and another Query at the end of the run), keeping it in memory to find gone users from the run's own listing, and so dropping the daily sighting rewrite, would make the sync's DynamoDB ${money(leaner)} instead of ${money(sync.dynamodb)}; reconcile-tenant at 128 MB instead of ${memoryGbOf('reconcile-tenant') * 1024} MB (it waits for Chime's list quota, not for CPU) would make its Lambda ${money(at128)} instead of ${money(sync.lambda)}: together ${money(leaner + at128)}`,
    'not included: the event source mappings polling the empty queues (an estimated $0-0.50 a month, docs/deploy.md), CloudWatch (alarms, custom metrics and logs: about $2 a month at idle, docs/deploy.md), storage (100,000 ledger entries of under 1 KB: under $0.03 a month with point-in-time recovery), and Chime SDK itself',
  ];
  const rows: BenchRow[] = [
    { metric: 'steady-state sync: DynamoDB', value: sync.dynamodb, unit: '$/month' },
    { metric: 'steady-state sync: Lambda', value: sync.lambda, unit: '$/month' },
    {
      metric: 'steady-state sync of 100,000 users: DynamoDB + Lambda',
      value: syncGoal,
      unit: '$/month',
      baseline: { label: 'leaner ledger and 128 MB', value: leaner + at128 },
      goal: { op: '<=', value: 1 },
    },
    {
      metric: 'onboarding 1,000/day: DynamoDB + Lambda',
      value: onboarding.dynamodb + onboarding.lambda,
      unit: '$/month',
    },
    { metric: 'SQS (sync and onboarding)', value: sync.sqs + onboarding.sqs, unit: '$/month' },
    {
      metric: 'EventBridge (lifecycle events)',
      value: sync.eventBridge + onboarding.eventBridge,
      unit: '$/month',
    },
    {
      metric: 'total (without CloudWatch and idle polling)',
      value: total(sync) + total(onboarding),
      unit: '$/month',
    },
  ];
  return [
    {
      title: `Monthly cost: ${users.toLocaleString('en-US')} users in ${measured.tenants} tenants synced hourly, ${target.onboardingsPerDay.toLocaleString('en-US')} onboardings a day`,
      notes,
      rows,
    },
  ];
}
