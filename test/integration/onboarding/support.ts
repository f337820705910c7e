import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { environmentFor } from '../../../local/environment';
import {
  type BatchResult,
  type EventSource,
  pollOnce,
  type SqsEventHandler,
  startEventSource,
} from '../../../local/event-source-runner';
import {
  type LocalEventBridge,
  type ReceivedEvent,
  startLocalEventBridge,
} from '../../../local/eventbridge-server';
import type { EnsuredQueue } from '../../../local/queue-provisioning';
import { ensureQueues } from '../../../local/queue-provisioning';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { type PutOptions, storePolicyDocument } from '../../../shared/aws/policy-store';
import type { Runtime } from '../../../shared/composition-root';
import { policyDocument } from '../../fixtures/policies';
import { type ChimeEmulator, startTestEmulator } from '../../support/chime';
import { testRuntime } from '../../support/stack';

export interface OnboardingStackOptions {
  readonly quotaScale?: number;
  /** The onboarding queue's visibility timeout; the runner's function timeout is the same. */
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  readonly retryBaseSeconds?: number;
  readonly retryCapSeconds?: number;
}

export interface OnboardingStack {
  readonly emulator: ChimeEmulator;
  readonly eventBridge: LocalEventBridge;
  readonly sqsServer: SqsServer;
  /** The test's own view of the stack (same tables and queues as the handler's). */
  readonly runtime: Runtime;
  readonly queue: EnsuredQueue;
  /** The real Lambda handler, imported after the environment was set. */
  readonly handler: SqsEventHandler;
  readonly functionTimeoutMs: number;
  close(): Promise<void>;
}

/**
 * Starts the emulator, local EventBridge, fauxqs and unique tables on the shared DynamoDB Local, points the
 * handler's environment at them and only then imports the handler (its Runtime reads the environment at
 * module load). Vitest runs each file in its own worker, so the environment and the module are per file.
 */
export async function startOnboardingStack(options: OnboardingStackOptions = {}): Promise<OnboardingStack> {
  const quotaScale = options.quotaScale ?? 50;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 10;
  const emulator = await startTestEmulator(quotaScale);
  const eventBridge = await startLocalEventBridge();
  const sqsServer = await startSqsServer();
  const runtime = await testRuntime({
    config: { quotaScale, eventBus: 'default' },
    runtime: { endpoints: { chime: emulator.url, eventbridge: eventBridge.url, sqs: sqsServer.url } },
  });
  const { onboarding: queue } = await ensureQueues(runtime.sqs, runtime.config, {
    onboarding: {
      visibilityTimeoutSeconds,
      ...(options.maxReceiveCount === undefined ? {} : { maxReceiveCount: options.maxReceiveCount }),
    },
  });

  const { config } = runtime;
  const env: Record<string, string> = {
    ...environmentFor(
      {
        ...config,
        quotaScale,
        onboardingRetryBaseSeconds: options.retryBaseSeconds ?? 1,
        onboardingRetryCapSeconds: options.retryCapSeconds ?? 2,
      },
      {
        dynamodb: runtime.endpoints.dynamodb as string,
        chime: emulator.url,
        sqs: sqsServer.url,
        eventbridge: eventBridge.url,
      },
    ),
    POWERTOOLS_METRICS_DISABLED: 'true',
    // Retries log warnings by design; the tests assert on outcomes, not on log lines.
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    AWS_LAMBDA_FUNCTION_NAME: 'onboard-users',
  };
  Object.assign(process.env, env);
  const { handler } = await import('../../../functions/onboard-users/handler');

  return {
    emulator,
    eventBridge,
    sqsServer,
    runtime,
    queue,
    handler: handler as SqsEventHandler,
    functionTimeoutMs: visibilityTimeoutSeconds * 1000,
    close: async () => {
      runtime.destroy();
      await sqsServer.close();
      await eventBridge.close();
      await emulator.close();
    },
  };
}

/** Stores an enabled (or disabled) policy for a tenant, from the shared fixture. */
export async function putPolicy(
  runtime: Runtime,
  tenantId: string,
  appInstanceArn: string,
  overrides: Record<string, unknown> = {},
  options: PutOptions = {},
): Promise<void> {
  const document = policyDocument(tenantId, appInstanceArn, overrides);
  await storePolicyDocument(runtime.policyStore, document, options);
}

export interface RequestBody {
  readonly tenantId: string;
  readonly appInstanceUserId: string;
  readonly name: string;
  readonly metadata?: string;
  readonly tags?: readonly { Key: string; Value: string }[];
  readonly requestId?: string;
}

export async function send(stack: OnboardingStack, bodies: readonly (RequestBody | string)[]): Promise<void> {
  await stack.runtime.queues.sendBatch(
    stack.queue.url,
    // A request carries its tenant as message group, as docs/onboarding.md tells producers to.
    bodies.map((body) =>
      typeof body === 'string' ? { body } : { body: JSON.stringify(body), groupId: body.tenantId },
    ),
  );
}

/** Runs the real handler through the local event source until the queue has been idle for `idleMs`. */
export async function runUntilIdle(
  stack: OnboardingStack,
  { idleMs = 3_000, timeoutMs = 45_000, concurrency = 2 } = {},
): Promise<EventSource['stats']> {
  const source = await startEventSource({
    sqs: stack.runtime.sqs,
    queueUrl: stack.queue.url,
    queueArn: stack.queue.arn,
    handler: stack.handler,
    batchSize: 10,
    waitTimeSeconds: POLL_WAIT_SECONDS,
    concurrency,
    functionName: 'onboard-users',
    timeoutMs: stack.functionTimeoutMs,
    onError: () => {},
  });
  try {
    await source.drain({ idleMs, timeoutMs });
    return source.stats;
  } finally {
    await source.stop();
    // stop() aborts the pollers' long polls, but fauxqs finishes them: a message sent during the rest of
    // that wait would be received by nobody and hidden for a visibility timeout. Let them run out.
    await new Promise((resolve) => setTimeout(resolve, POLL_WAIT_SECONDS * 1000 + 250));
  }
}

const POLL_WAIT_SECONDS = 1;

/** One delivery through the real event-source logic, waiting until a message is there. */
export async function pollUntilReceived(
  stack: OnboardingStack,
  handler: SqsEventHandler = stack.handler,
  timeoutMs = 20_000,
): Promise<BatchResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await pollOnce({
      sqs: stack.runtime.sqs,
      queueUrl: stack.queue.url,
      queueArn: stack.queue.arn,
      handler,
      waitTimeSeconds: POLL_WAIT_SECONDS,
      timeoutMs: stack.functionTimeoutMs,
    });
    if (result.received > 0) return result;
    if (Date.now() > deadline) throw new Error(`no message arrived within ${timeoutMs} ms`);
  }
}

export function eventsOfType(stack: OnboardingStack, detailType: string): ReceivedEvent[] {
  return stack.eventBridge.events.filter((event) => event.detailType === detailType);
}

export function onboardedEventsFor(
  stack: OnboardingStack,
  appInstanceUserId: string,
): Record<string, unknown>[] {
  return eventsOfType(stack, 'User Onboarded')
    .map((event) => event.detail as Record<string, unknown>)
    .filter((detail) => detail.appInstanceUserId === appInstanceUserId);
}

export async function idempotencyItems(stack: OnboardingStack): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await stack.runtime.documents.send(
    new ScanCommand({ TableName: stack.runtime.config.idempotencyTable, ConsistentRead: true }),
  );
  return Items;
}

export async function userIdsOf(stack: OnboardingStack, appInstanceArn: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of stack.runtime.chimeUsers.listPages(appInstanceArn)) {
    for (const user of page.users) ids.push(user.appInstanceUserId);
  }
  return ids;
}

export const creates = (stack: OnboardingStack): number =>
  stack.emulator.stats().calls.CreateAppInstanceUser ?? 0;

export type { SQSEvent };
