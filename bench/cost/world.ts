/**
 * One measured population of the cost bench: tenants × users in the emulator, their policies, tables and
 * queues under their own names, the first sync done (not measured: the steady state comes after it), and
 * the "Lambda containers" that then run the steady state: Runtimes at the real quotas, each one a warm
 * container of a function, every DynamoDB, SQS and EventBridge request they send counted by the meter.
 */
import { performance } from 'node:perf_hooks';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ChimeEmulator } from '../../emulator';
import { isolatedConfig } from '../../local/environment';
import { provision } from '../../local/stack-services';
import { createSqsClient } from '../../shared/aws/sqs';
import { Runtime } from '../../shared/composition-root';
import type { Config } from '../../shared/config';
import { type ReconcileMessage, reconcileMessageSchema } from '../../shared/contracts/reconcile-messages';
import { reconcileStep, retriesExhausted } from '../../shared/sync/reconcile-step';
import { scheduleSync } from '../../shared/sync/schedule';
import { population, putPolicy } from '../sync-stack';
import type { Meter } from './meter';

export interface Services {
  readonly emulator: ChimeEmulator;
  readonly endpoints: { dynamodb: string; chime: string; sqs: string; eventbridge: string };
}

export interface World {
  readonly config: Config;
  readonly tenantIds: readonly string[];
  readonly usersPerTenant: number;
  /** The steady state's containers: reconcile-tenant's (as many as its maximum concurrency) and the others. */
  readonly reconcilers: readonly Runtime[];
  readonly scheduler: Runtime;
  readonly onboarder: Runtime;
  readonly sqs: SQSClient;
  readonly reconcileQueueUrl: string;
  close(): void;
}

/** The Lambda timeout of reconcile-tenant: what `remainingTimeMs` starts from in each invocation. */
const RECONCILE_TIMEOUT_MS = 900_000;

export async function buildWorld(
  services: Services,
  meter: Meter,
  options: {
    prefix: string;
    tenants: number;
    usersPerTenant: number;
    reconcileConcurrency: number;
    t0: number;
  },
): Promise<World> {
  const config = isolatedConfig(options.prefix, { quotaScale: 1, quotaFallbackShare: 0.14 });
  const setup = new Runtime(
    { ...config, quotaScale: 20, quotaCoordination: false },
    { endpoints: services.endpoints },
  );
  const { queues } = await provision(setup, config);
  const tenantIds = Array.from({ length: options.tenants }, (_, index) => `${options.prefix}-t${index}`);
  const now = services.emulator.now().getTime();
  for (const tenantId of tenantIds) {
    const { appInstanceArn } = services.emulator.seed({
      appInstanceName: tenantId,
      users: population(options.usersPerTenant, now),
    });
    await putPolicy(setup, tenantId, appInstanceArn);
  }
  // The first sync (at quota scale 20: it describes every user once) brings every user to its policy and
  // fills the ledger; the steady state is what comes after.
  const started = performance.now();
  const clock = () => options.t0 + (performance.now() - started);
  for (const tenantId of tenantIds) {
    await runToEnd(setup, tenantId, clock);
  }
  setup.destroy();
  const container = (quotaFallbackShare: number) =>
    new Runtime(
      { ...config, quotaFallbackShare },
      { endpoints: services.endpoints, observeRequests: meter.observe },
    );
  const reconcilers = Array.from({ length: options.reconcileConcurrency }, () => container(0.14));
  const scheduler = container(0.1);
  const onboarder = container(0.15);
  const sqs = createSqsClient({ region: config.region, endpoint: services.endpoints.sqs });
  return {
    config,
    tenantIds,
    usersPerTenant: options.usersPerTenant,
    reconcilers,
    scheduler,
    onboarder,
    sqs,
    reconcileQueueUrl: queues.reconcile.url,
    close: () => {
      for (const runtime of [...reconcilers, scheduler, onboarder]) runtime.destroy();
      sqs.destroy();
    },
  };
}

/** A whole run of one tenant in this process (the first sync). */
async function runToEnd(runtime: Runtime, tenantId: string, now: () => number): Promise<void> {
  const pending: ReconcileMessage[] = [{ kind: 'start', tenantId, trigger: 'cli' }];
  const deps = runtime.reconcileDeps({
    queue: { send: async (messages) => void pending.push(...messages) },
    now,
  });
  for (let message = pending.shift(); message; message = pending.shift()) {
    const result = await reconcileStep(message, deps);
    if (result.kind === 'retryAfter')
      throw new Error(`first sync of ${tenantId} failed: ${String(result.error)}`);
  }
}

/**
 * One scheduled sync of every tenant at simulated time `at`, as deployed: schedule-sync sends a start
 * message per tenant to the reconcile queue, and reconcile-tenant's containers take the messages one at a time
 * (batch size 1) up to its maximum concurrency, each invocation one reconcile step with its own continuation
 * sent to the queue. Each invocation's wall time is its Lambda duration; the event source mapping's receive
 * and delete for it are counted as two SQS requests (its empty long polls are not: see the notes).
 */
export async function scheduledSync(world: World, meter: Meter, at: number): Promise<void> {
  const wallStart = performance.now();
  const now = () => at + (performance.now() - wallStart);
  const scheduleStart = performance.now();
  await scheduleSync({
    policies: world.scheduler.policyStore,
    runs: world.scheduler.runs,
    queue: world.scheduler.reconcileQueue(),
    now,
  });
  meter.invoked('schedule-sync', performance.now() - scheduleStart);
  let inFlight = 0;
  await Promise.all(
    world.reconcilers.map(async (runtime) => {
      for (;;) {
        const { Messages } = await world.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: world.reconcileQueueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: 1,
          }),
        );
        const message = Messages?.[0];
        if (!message) {
          if (inFlight === 0) return;
          continue;
        }
        inFlight += 1;
        try {
          await invokeReconcile(runtime, meter, message.Body ?? '', now);
          await world.sqs.send(
            new DeleteMessageCommand({
              QueueUrl: world.reconcileQueueUrl,
              ReceiptHandle: message.ReceiptHandle,
            }),
          );
        } finally {
          inFlight -= 1;
        }
      }
    }),
  );
}

/** One reconcile-tenant invocation: a step, then the lease release its middleware makes at the end. */
async function invokeReconcile(
  runtime: Runtime,
  meter: Meter,
  body: string,
  now: () => number,
): Promise<void> {
  const started = performance.now();
  const message = reconcileMessageSchema.parse(JSON.parse(body));
  const deps = runtime.reconcileDeps({
    now,
    remainingTimeMs: () => RECONCILE_TIMEOUT_MS - (performance.now() - started),
  });
  const result = await reconcileStep(message, deps);
  if (result.kind === 'retryAfter') {
    await retriesExhausted(message, result.error, deps);
    throw new Error(`a reconcile step failed: ${String(result.error)}`);
  }
  await runtime.releaseQuotaLease();
  meter.invoked('reconcile-tenant', performance.now() - started, 2);
}
