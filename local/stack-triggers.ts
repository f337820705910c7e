import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import type { FailureQueueId } from '../functions/declaration';
import { requestHandlerOptions } from '../shared/aws/client-timeouts';
import { tableNames } from '../shared/aws/tables';
import type { Runtime } from '../shared/composition-root';
import type { Config } from '../shared/config';
import type { QueueKind } from '../shared/queue-settings';
import { createContext, type EventSource, startEventSource } from './event-source-runner';
import type { EventEnvelope, LocalEventBridge } from './eventbridge-server';
import { type FailureQueue, sendRuleDeadLetter, sendStreamFailure } from './failure-queues';
import type { EnsuredQueue } from './queue-provisioning';
import type { InFlight, Invoke, LocalFunctions } from './stack-functions';
import type { Stops } from './stack-services';
import type { LocalFunctionWiring, LocalTrigger } from './stack-wiring';
import { type StreamSource, startStreamSource } from './stream-runner';

/**
 * Delivers each function's trigger the way AWS does, as the wiring (stack-wiring.ts) says: SQS queues through
 * the event-source runner, the policy table's stream through the stream runner, EventBridge rules on the
 * local default bus, and the schedule on a timer.
 */

export interface TriggerDeps {
  readonly runtime: Runtime;
  readonly config: Config;
  readonly queues: Record<QueueKind, EnsuredQueue>;
  readonly failureQueues: Record<FailureQueueId, FailureQueue>;
  readonly dynamoUrl: string;
  readonly eventBridge: LocalEventBridge;
  readonly functions: LocalFunctions;
  readonly inFlight: InFlight;
  /** Reports a runner's failure (not while stopping). */
  readonly report: (source: string) => (error: unknown) => void;
}

export interface Triggers {
  /** The SQS pollers by function. */
  readonly sources: ReadonlyMap<string, EventSource>;
  /** Runs every scheduled function now (what the EventBridge schedule does); resolves to their results. */
  runSchedule(): Promise<unknown[]>;
}

type Wired<K extends LocalTrigger['kind']> = LocalFunctionWiring & {
  readonly trigger: Extract<LocalTrigger, { kind: K }>;
};

const ofKind = <K extends LocalTrigger['kind']>(
  wiring: readonly LocalFunctionWiring[],
  kind: K,
): Wired<K>[] => wiring.filter((fn): fn is Wired<K> => fn.trigger.kind === kind);

/**
 * Starts every trigger: SQS pollers first (stopped together, bounded), then the rules, the streams and the
 * schedule; each one's stop goes onto `stops`.
 */
export async function startTriggers(
  wiring: readonly LocalFunctionWiring[],
  deps: TriggerDeps,
  stops: Stops,
): Promise<Triggers> {
  const sources = new Map<string, EventSource>();
  for (const fn of ofKind(wiring, 'sqs')) {
    sources.set(fn.name, await startQueueSource(fn, deps));
  }
  for (const fn of ofKind(wiring, 'rule')) addRule(fn, deps);
  stops.push(async () => {
    // A poller waits for its invocation in flight. Under serverless offline that invocation has already
    // failed (the functions stopped first); an in-process handler cannot be cut short, so it is given a few
    // seconds and then left behind rather than holding the whole stop up.
    await Promise.race([Promise.all([...sources.values()].map((source) => source.stop())), sleep(5_000)]);
  });
  for (const fn of ofKind(wiring, 'stream')) {
    const stream = await startTableStream(fn, deps);
    stops.push(() => stream.stop());
  }
  return { sources, runSchedule: startSchedule(ofKind(wiring, 'schedule'), deps, stops) };
}

/**
 * A rule on the local default bus, as deployed: its retry policy (with backoff) on a failing invocation, then
 * its dead-letter queue, with the attributes EventBridge sets.
 */
function addRule(fn: Wired<'rule'>, deps: TriggerDeps): void {
  const invoke = deps.functions.invoker(fn.name, fn.timeoutSeconds * 1_000);
  const name = `${fn.name}-rule`;
  const { region } = deps.config;
  const arns = {
    rule: `arn:aws:events:${region}:000000000000:rule/${name}`,
    target: `arn:aws:lambda:${region}:000000000000:function:${fn.name}`,
  };
  const queue = deps.failureQueues[fn.trigger.deadLetterQueue];
  deps.eventBridge.addRule({
    name,
    eventBusName: fn.trigger.eventBusName,
    pattern: fn.trigger.pattern,
    target: (event: EventEnvelope) => invoke(event, contextOf(fn, deps.config)),
    retryPolicy: fn.trigger.retryPolicy,
    deadLetter: async (failure) => {
      await sendRuleDeadLetter(deps.runtime.sqs, queue, arns, failure);
    },
  });
}

function contextOf(fn: LocalFunctionWiring, config: Config) {
  return createContext({
    functionName: fn.name,
    region: config.region,
    accountId: '000000000000',
    timeoutMs: fn.timeoutSeconds * 1_000,
    memoryMb: fn.memoryMb,
  });
}

function startQueueSource(fn: Wired<'sqs'>, deps: TriggerDeps): Promise<EventSource> {
  const { trigger } = fn;
  const queue = deps.queues[trigger.queue];
  return startEventSource({
    sqs: deps.runtime.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    handler: deps.inFlight.track(fn.name, deps.functions.invoker(fn.name, fn.timeoutSeconds * 1_000)),
    batchSize: trigger.batchSize,
    maximumBatchingWindowSeconds: trigger.maximumBatchingWindowSeconds,
    concurrency: trigger.concurrency,
    reportBatchItemFailures: trigger.reportBatchItemFailures,
    // Short polls keep stop() quick; Lambda's pollers wait 20 s, which only matters for an idle queue.
    waitTimeSeconds: 2,
    functionName: fn.name,
    timeoutMs: fn.timeoutSeconds * 1_000,
    memoryMb: fn.memoryMb,
    onError: deps.report(fn.name),
  });
}

function startTableStream(fn: Wired<'stream'>, deps: TriggerDeps): Promise<StreamSource> {
  const invoke: Invoke = deps.functions.invoker(fn.name, fn.timeoutSeconds * 1_000);
  const { trigger } = fn;
  const destination = trigger.onFailureQueue ? deps.failureQueues[trigger.onFailureQueue] : undefined;
  return startStreamSource({
    dynamo: deps.runtime.dynamo,
    streams: new DynamoDBStreamsClient({
      region: deps.config.region,
      endpoint: deps.dynamoUrl,
      ...requestHandlerOptions(),
    }),
    tableName: tableNames(deps.config)[trigger.table],
    handler: (event: DynamoDBStreamEvent) => invoke(event, contextOf(fn, deps.config)),
    startingPosition: trigger.startingPosition,
    batchSize: trigger.batchSize,
    bisectBatchOnFunctionError: trigger.bisectBatchOnFunctionError,
    maximumRetryAttempts: trigger.maximumRetryAttempts,
    maximumRecordAgeSeconds: trigger.maximumRecordAgeSeconds,
    functionArn: `arn:aws:lambda:${deps.config.region}:000000000000:function:${fn.name}`,
    ...(destination
      ? {
          onFailure: async (record) => {
            await sendStreamFailure(deps.runtime.sqs, destination, record);
            deps.report(fn.name)(
              new Error(
                `gave up on a stream batch (${record.requestContext.condition}, ${record.DDBStreamBatchInfo.batchSize} record(s)); reported to ${destination.name}`,
              ),
            );
          },
        }
      : {}),
    onError: deps.report(fn.name),
  });
}

/** The scheduled functions on a timer (their `everyMinutes`, 0 = only on demand); returns "run them now". */
function startSchedule(
  scheduled: readonly Wired<'schedule'>[],
  deps: TriggerDeps,
  stops: Stops,
): () => Promise<unknown[]> {
  const run = (fn: Wired<'schedule'>) =>
    deps.functions.invoker(fn.name, fn.timeoutSeconds * 1_000)(
      scheduledEvent(deps.config.region),
      contextOf(fn, deps.config),
    );
  for (const fn of scheduled) {
    if (fn.trigger.everyMinutes <= 0) continue;
    const timer = setInterval(
      () => void run(fn).catch(deps.report(fn.name)),
      fn.trigger.everyMinutes * 60_000,
    );
    stops.push(async () => clearInterval(timer));
  }
  return () => Promise.all(scheduled.map(run));
}

function scheduledEvent(region: string): ScheduledEvent {
  return {
    version: '0',
    id: `local-${Date.now()}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region,
    resources: [],
    detail: {},
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
