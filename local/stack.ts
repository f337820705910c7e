import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBStreamEvent, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type ChimeEmulator, startChimeEmulator } from '../emulator';
import { ensureTables } from '../shared/aws/tables';
import { type Endpoints, Runtime } from '../shared/composition-root';
import { type Config, loadConfig } from '../shared/config';
import { type DemoTenant, seedDemo } from './demo';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
import { environmentFor, exportEnvironment } from './environment';
import { createContext, type EventSource, startEventSource } from './event-source-runner';
import { type LocalEventBridge, type ReceivedEvent, startLocalEventBridge } from './eventbridge-server';
import { LOCAL_PORTS } from './ports';
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
  readonly onEvent?: (event: ReceivedEvent) => void;
  readonly onError?: (source: string, error: unknown) => void;
}

export interface LocalStack {
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

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

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
    const queues = await runtime.queues.ensureQueues(config);
    try {
      await runtime.eventBridge.send(new CreateEventBusCommand({ Name: config.eventBus }));
    } catch (error) {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    }

    // The handlers build their own Runtime from the environment at import, like a Lambda cold start.
    const reconcile = (await import('../functions/reconcile-tenant/handler'))
      .handler as unknown as SqsHandler;
    const policyChanged = (await import('../functions/policy-changed/handler')).handler as unknown as (
      event: DynamoDBStreamEvent,
      context: Context,
    ) => Promise<unknown>;
    const schedule = (await import('../functions/schedule-sync/handler')).handler as unknown as (
      event: ScheduledEvent,
      context: Context,
    ) => Promise<unknown>;
    const onboardModule = path.join(import.meta.dirname, '..', 'functions', 'onboard-users', 'handler.ts');
    const onboard = existsSync(onboardModule)
      ? ((await import(onboardModule)) as { handler: SqsHandler }).handler
      : undefined;

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
    if (onboard) {
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
    }
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
