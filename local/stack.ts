import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { type ChimeEmulator, startChimeEmulator } from '../emulator';
import { ensureTables } from '../shared/aws/tables';
import { type Endpoints, Runtime } from '../shared/composition-root';
import { type Config, loadConfig } from '../shared/config';
import { type DemoTenant, seedDemo } from './demo';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
import { environmentFor, exportEnvironment } from './environment';
import {
  createContext,
  type EventSource,
  type SqsEventHandler,
  startEventSource,
} from './event-source-runner';
import { type LocalEventBridge, type ReceivedEvent, startLocalEventBridge } from './eventbridge-server';
import { LOCAL_PORTS } from './ports';
import { ensureQueues } from './queue-provisioning';
import { startServerlessOffline } from './serverless-offline';
import { type SqsServer, startSqsServer } from './sqs-server';
import { type StreamSource, startStreamSource } from './stream-runner';

export interface LocalStackOptions {
  readonly ports?: Partial<Record<keyof typeof LOCAL_PORTS, number>>;
  readonly host?: string;
  /** Seed the demo tenants, policies and users (default true). */
  readonly demo?: boolean;
  /** Minutes between scheduled syncs; 0 turns the schedule off (the first sync still runs at start). */
  readonly scheduleMinutes?: number;
  /** Quota scale for both the emulator and the clients (default 1: the real AWS quotas). */
  readonly quotaScale?: number;
  /** Where generated files go (policy documents of the demo tenants). */
  readonly workDir?: string;
  /**
   * How the functions run: `serverless-offline` (default) runs them as serverless.yml defines them behind the
   * Lambda Invoke API; `in-process` imports the handlers into this process (faster start, no esbuild).
   */
  readonly functions?: 'serverless-offline' | 'in-process';
  readonly onServerlessOutput?: (line: string) => void;
  readonly onEvent?: (event: ReceivedEvent) => void;
  readonly onError?: (source: string, error: unknown) => void;
}

export interface LocalStack {
  readonly functions: 'serverless-offline' | 'in-process';
  readonly endpoints: Required<Endpoints>;
  readonly config: Config;
  /** The variables that point the CLI (in another shell) at this stack. */
  readonly environment: Record<string, string>;
  readonly tenants: readonly DemoTenant[];
  readonly emulator: ChimeEmulator;
  readonly eventBridge: LocalEventBridge;
  readonly runtime: Runtime;
  /** Runs the scheduled sync now (what the EventBridge schedule does). */
  runSchedule(): Promise<unknown>;
  stop(): Promise<void>;
}

type SqsHandler = SqsEventHandler;
type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;
type ScheduleHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

interface Functions {
  readonly mode: 'serverless-offline' | 'in-process';
  readonly reconcile: SqsHandler;
  readonly onboard: SqsHandler;
  readonly policyChanged: StreamHandler;
  readonly schedule: ScheduleHandler;
}

async function loadFunctions(
  options: LocalStackOptions,
  lambdaPort: number,
  environment: Record<string, string>,
  stops: (() => Promise<void>)[],
): Promise<Functions> {
  if (options.functions === 'in-process') {
    // The handlers build their own Runtime from the environment at import, like a Lambda cold start.
    return {
      mode: 'in-process',
      reconcile: (await import('../functions/reconcile-tenant/handler')).handler as unknown as SqsHandler,
      onboard: (await import('../functions/onboard-users/handler')).handler as unknown as SqsHandler,
      policyChanged: (await import('../functions/policy-changed/handler'))
        .handler as unknown as StreamHandler,
      schedule: (await import('../functions/schedule-sync/handler')).handler as unknown as ScheduleHandler,
    };
  }
  const offline = await startServerlessOffline({
    lambdaPort,
    env: {
      ...environment,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    ...(options.onServerlessOutput ? { onOutput: options.onServerlessOutput } : {}),
  });
  stops.push(() => offline.stop());
  const via = (name: string) => async (event: unknown) => offline.invoke(name, event);
  return {
    mode: 'serverless-offline',
    reconcile: via('reconcile-tenant') as SqsHandler,
    onboard: via('onboard-users') as SqsHandler,
    policyChanged: via('policy-changed'),
    schedule: via('schedule-sync'),
  };
}

/**
 * The whole system on one machine: DynamoDB Local, a local SQS server, the Chime SDK Identity emulator and a
 * local EventBridge, with the real Lambda handlers wired to their triggers the way AWS wires them: the
 * reconcile and onboarding queues through the faithful event-source runner (partial batch failures honoured),
 * the policy table's stream, and the schedule.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const ports = { ...LOCAL_PORTS, ...options.ports };
  const quotaScale = options.quotaScale ?? 1;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        options.onError?.('stop', error);
      }
    }
  };
  const report = (source: string) => (error: unknown) => options.onError?.(source, error);

  try {
    const dynamo: DynamoDbLocal = await startDynamoDbLocal({ port: ports.dynamodb, host }).catch(
      (error: Error) => {
        throw new Error(`DynamoDB Local on port ${ports.dynamodb}: ${error.message}`);
      },
    );
    stops.push(() => dynamo.close());
    const sqs: SqsServer = await startSqsServer({ port: ports.sqs, host }).catch((error: Error) => {
      throw new Error(`SQS server on port ${ports.sqs}: ${error.message}`);
    });
    stops.push(() => sqs.close());
    const emulator = await startChimeEmulator({ port: ports.chime, host, quotaScale }).catch(
      (error: Error) => {
        throw new Error(`Chime emulator on port ${ports.chime}: ${error.message}`);
      },
    );
    stops.push(() => emulator.close());
    const eventBridge = await startLocalEventBridge({
      port: ports.eventbridge,
      host,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    }).catch((error: Error) => {
      throw new Error(`EventBridge on port ${ports.eventbridge}: ${error.message}`);
    });
    stops.push(() => eventBridge.close());

    const endpoints = {
      dynamodb: dynamo.url,
      sqs: sqs.url,
      chime: emulator.url,
      eventbridge: eventBridge.url,
    };
    const config = loadConfig({ ...process.env, CHIME_LIFECYCLE_QUOTA_SCALE: String(quotaScale) });
    exportEnvironment(config, endpoints);
    const runtime = new Runtime(config, { endpoints });
    stops.push(async () => runtime.destroy());

    await ensureTables(runtime.dynamo, config);
    const queues = await ensureQueues(runtime.sqs, config);
    try {
      await runtime.eventBridge.send(new CreateEventBusCommand({ Name: config.eventBus }));
    } catch (error) {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    }

    const functions = await loadFunctions(options, ports.lambda, environmentFor(config, endpoints), stops);
    const { reconcile, onboard, policyChanged, schedule } = functions;

    const context = (functionName: string, timeoutMs: number) =>
      createContext({ functionName, region: config.region, accountId: '000000000000', timeoutMs });

    const sources: EventSource[] = [];
    sources.push(
      await startEventSource({
        sqs: runtime.sqs,
        queueUrl: queues.reconcile.url,
        queueArn: queues.reconcile.arn,
        handler: reconcile,
        batchSize: 1,
        concurrency: 2,
        waitTimeSeconds: 2,
        functionName: 'reconcile-tenant',
        timeoutMs: 900_000,
        onError: report('reconcile-tenant'),
      }),
    );
    sources.push(
      await startEventSource({
        sqs: runtime.sqs,
        queueUrl: queues.onboarding.url,
        queueArn: queues.onboarding.arn,
        handler: onboard,
        batchSize: 10,
        concurrency: 2,
        waitTimeSeconds: 2,
        functionName: 'onboard-users',
        timeoutMs: 60_000,
        onError: report('onboard-users'),
      }),
    );
    stops.push(async () => {
      await Promise.all(sources.map((source) => source.stop()));
    });
    const stream: StreamSource = await startStreamSource({
      dynamo: runtime.dynamo,
      streams: new DynamoDBStreamsClient({ region: config.region, endpoint: dynamo.url }),
      tableName: config.policyTable,
      handler: (event) => policyChanged(event, context('policy-changed', 60_000)),
      startingPosition: 'LATEST',
      onError: report('policy-changed'),
    });
    stops.push(() => stream.stop());

    const runSchedule = () =>
      schedule(
        {
          version: '0',
          id: `local-${Date.now()}`,
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          account: '000000000000',
          time: new Date().toISOString(),
          region: config.region,
          resources: [],
          detail: {},
        },
        context('schedule-sync', 60_000),
      );
    const scheduleMinutes = options.scheduleMinutes ?? 5;
    if (scheduleMinutes > 0) {
      const timer = setInterval(
        () => void runSchedule().catch(report('schedule-sync')),
        scheduleMinutes * 60_000,
      );
      stops.push(async () => clearInterval(timer));
    }

    const tenants = options.demo === false ? [] : await seedDemo(emulator, runtime.policyStore);
    if (tenants.length > 0 && options.workDir) {
      const dir = path.join(options.workDir, 'policies');
      await mkdir(dir, { recursive: true });
      for (const tenant of tenants) {
        await writeFile(
          path.join(dir, `${tenant.tenantId}.json`),
          `${JSON.stringify(tenant.document, null, 2)}\n`,
        );
      }
    }

    return {
      functions: functions.mode,
      endpoints,
      config,
      environment: environmentFor(config, endpoints),
      tenants,
      emulator,
      eventBridge,
      runtime,
      runSchedule,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
