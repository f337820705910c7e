import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { type ChimeEmulator, putEventsSink, startChimeEmulator } from '../emulator';
import eventRules from '../infra/event-rules.json' with { type: 'json' };
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
import {
  type EventEnvelope,
  type LocalEventBridge,
  type ReceivedEvent,
  startLocalEventBridge,
} from './eventbridge-server';
import { type PortClaim, PortInUseError, portHolders } from './port-owner';
import { LOCAL_PORTS } from './ports';
import { ensureQueues } from './queue-provisioning';
import { startServerlessOffline } from './serverless-offline';
import { loadServerlessSettings, type SqsEventSourceSettings } from './serverless-settings';
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
  /**
   * Concurrent invocations per SQS-triggered function, overriding serverless.yml's maximumConcurrency (the
   * default, as deployed). Batch size, batching window and timeout always come from serverless.yml.
   */
  readonly concurrency?: {
    readonly reconcile?: number;
    readonly onboarding?: number;
    readonly activity?: number;
  };
  /** The serverless.yml whose event-source settings the pollers take (default: the repository's). */
  readonly serverlessFile?: string;
  /**
   * Keep state in this directory across starts: DynamoDB Local's database file and the emulator's saved
   * state. Without it everything is in memory and a start begins from the demo data.
   */
  readonly persistDir?: string;
  /** Told about every child process as soon as it is spawned (the pid file and reaper of `local start`). */
  readonly onChildProcess?: (child: { name: string; pid: number; group: boolean }) => Promise<void>;
  readonly onServerlessOutput?: (line: string) => void;
  readonly onEvent?: (event: ReceivedEvent) => void;
  readonly onError?: (source: string, error: unknown) => void;
}

/** A tenant as the banner shows it: what exists in Chime now. */
export interface TenantSummary {
  readonly tenantId: string;
  readonly appInstanceArn: string;
  /** Users in Chime now (undefined when the AppInstance does not exist in the emulator). */
  readonly users: number | undefined;
  /** Demo users seeded already past their expiry plus Chime's deletion delay, which the sweep deleted at once. */
  readonly sweptAtSeed: number;
}

/** A handler invocation that was running when the stack was stopped. */
export interface Interrupted {
  readonly functionName: string;
  readonly tenantIds: readonly string[];
}

/** The SQS-triggered functions the local stack polls for, by their serverless.yml names. */
export type SqsFunctionName = 'reconcile-tenant' | 'onboard-users' | 'record-activity';

/** How the local stack delivers one queue to its function: serverless.yml's settings, concurrency as run. */
export interface EffectiveEventSource extends SqsEventSourceSettings {
  /** Concurrent invocations the pollers run (serverless.yml's maximumConcurrency unless overridden). */
  readonly concurrency: number;
  readonly concurrencyFrom: 'serverless.yml' | 'options';
}

export interface LocalStack {
  readonly functions: 'serverless-offline' | 'in-process';
  /** The event-source settings in effect for each SQS-triggered function (for banners and benchmarks). */
  readonly eventSources: Readonly<Record<SqsFunctionName, EffectiveEventSource>>;
  readonly endpoints: Required<Endpoints>;
  readonly config: Config;
  /** The variables that point the CLI (in another shell) at this stack. */
  readonly environment: Record<string, string>;
  readonly tenants: readonly DemoTenant[];
  /** Every tenant with a stored policy and its user count in Chime (the demo's, or those a --persist start kept). */
  readonly summary: readonly TenantSummary[];
  /** Under persistence: whether this start found saved state (DynamoDB tables and the emulator's state). */
  readonly restored: boolean;
  /** Interrupted runs of an earlier start that this start handed back to the reconcile queue. */
  readonly resumedRuns: readonly { tenantId: string; runId: string; step: number }[];
  readonly emulator: ChimeEmulator;
  readonly eventBridge: LocalEventBridge;
  readonly runtime: Runtime;
  /** Runs the scheduled sync now (what the EventBridge schedule does). */
  runSchedule(): Promise<unknown>;
  /**
   * Disables or enables a function's queue mapping, as `aws lambda update-event-source-mapping --no-enabled`
   * / `--enabled` do. Disabling resolves once its pollers are parked (see EventSource.pause); messages then
   * wait in the queue. Benchmarks use it to queue a backlog before the consumers see any of it.
   */
  setEventSourceEnabled(functionName: SqsFunctionName, enabled: boolean): Promise<void>;
  /**
   * Stops everything: pollers first, then the functions (an invocation in flight is abandoned: its message
   * is not deleted, so it goes back to the queue), then the servers. Errors of abandoned invocations are not
   * reported; they are returned, summarised, as `interrupted`.
   */
  stop(): Promise<{ interrupted: readonly Interrupted[] }>;
}

type SqsHandler = SqsEventHandler;
type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;
type ScheduleHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;
type RuleHandler = (event: EventEnvelope, context: Context) => Promise<unknown>;

interface Functions {
  readonly mode: 'serverless-offline' | 'in-process';
  readonly reconcile: SqsHandler;
  readonly onboard: SqsHandler;
  readonly policyChanged: StreamHandler;
  readonly schedule: ScheduleHandler;
  readonly recordActivity: SqsHandler;
  readonly userRemoved: RuleHandler;
  /** Stops serverless offline (in-process functions have nothing to stop). */
  stop(): Promise<void>;
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
      recordActivity: (await import('../functions/record-activity/handler')).handler as unknown as SqsHandler,
      userRemoved: (await import('../functions/user-removed/handler')).handler as unknown as RuleHandler,
      stop: async () => {},
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
    ...(options.onChildProcess
      ? {
          onSpawn: (pid: number) =>
            options.onChildProcess?.({ name: 'serverless offline', pid, group: true }) ?? Promise.resolve(),
        }
      : {}),
  });
  stops.push(() => offline.stop());
  const via = (name: string) => async (event: unknown) => offline.invoke(name, event);
  return {
    mode: 'serverless-offline',
    reconcile: via('reconcile-tenant') as SqsHandler,
    onboard: via('onboard-users') as SqsHandler,
    policyChanged: via('policy-changed'),
    schedule: via('schedule-sync'),
    recordActivity: via('record-activity') as SqsHandler,
    userRemoved: via('user-removed'),
    stop: () => offline.stop(),
  };
}

/**
 * The whole system on one machine: DynamoDB Local, a local SQS server, the Chime SDK Identity emulator and a
 * local EventBridge, with the real Lambda handlers wired to their triggers the way AWS wires them: the
 * reconcile, onboarding and activity queues through the faithful event-source runner (partial batch failures
 * honoured; batch size, batching window, concurrency and timeout as serverless.yml deploys them), the policy
 * table's stream, and the schedule.
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
    stops.length = 0;
  };
  /** Set when stopping: errors of invocations being abandoned are expected then, and not reported. */
  let stopping = false;
  const report = (source: string) => (error: unknown) => {
    if (!stopping) options.onError?.(source, error);
  };
  const inFlight = new Map<number, Interrupted>();
  let nextInvocation = 0;
  /** Records which invocations are running, so a stop can say what it interrupted. */
  const tracked =
    (functionName: string, handler: SqsHandler): SqsHandler =>
    async (event, context) => {
      const id = nextInvocation++;
      inFlight.set(id, { functionName, tenantIds: tenantsOf(event.Records.map((record) => record.body)) });
      try {
        return await handler(event, context);
      } finally {
        inFlight.delete(id);
      }
    };
  const persist = options.persistDir;
  // Read before anything starts: a serverless.yml the pollers cannot follow stops the start at once.
  const eventSources = effectiveEventSources(options);

  try {
    const dynamo: DynamoDbLocal = await startDynamoDbLocal({
      port: ports.dynamodb,
      host,
      ownProcessGroup: true,
      ...(persist ? { dbPath: path.join(persist, 'dynamodb') } : {}),
      ...(options.onChildProcess
        ? {
            onSpawn: (pid: number) =>
              options.onChildProcess?.({ name: 'DynamoDB Local', pid, group: true }) ?? Promise.resolve(),
          }
        : {}),
    }).catch((error: Error) => {
      if (error instanceof PortInUseError) throw error;
      throw new Error(`DynamoDB Local on port ${ports.dynamodb}: ${error.message}`);
    });
    stops.push(() => dynamo.close());
    const sqs: SqsServer = await startSqsServer({ port: ports.sqs, host }).catch(async (error: Error) => {
      throw await inUse(error, { service: 'the SQS server', port: ports.sqs, flag: '--sqs-port' });
    });
    stops.push(() => sqs.close());
    /** Set once the local EventBridge is up: the emulator's deletions go to its default bus as CloudTrail events. */
    let cloudTrail: ReturnType<typeof putEventsSink> | undefined;
    const emulator = await startChimeEmulator({
      port: ports.chime,
      host,
      quotaScale,
      cloudTrailEvents: (entry) => cloudTrail?.send(entry),
      ...(persist ? { stateFile: path.join(persist, 'chime-emulator.json') } : {}),
    }).catch(async (error: Error) => {
      throw await inUse(error, { service: 'the Chime emulator', port: ports.chime, flag: '--chime-port' });
    });
    stops.push(() => emulator.close());
    const eventBridge = await startLocalEventBridge({
      port: ports.eventbridge,
      host,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    }).catch(async (error: Error) => {
      throw await inUse(error, {
        service: 'the local EventBridge',
        port: ports.eventbridge,
        flag: '--eventbridge-port',
      });
    });
    stops.push(() => eventBridge.close());
    cloudTrail = putEventsSink(eventBridge.url);

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

    const tables = await ensureTables(runtime.dynamo, config);
    const restored = persist !== undefined && tables.every((table) => !table.created);
    const queues = await ensureQueues(runtime.sqs, config);
    try {
      await runtime.eventBridge.send(new CreateEventBusCommand({ Name: config.eventBus }));
    } catch (error) {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    }

    const functions = await loadFunctions(options, ports.lambda, environmentFor(config, endpoints), stops);
    const { policyChanged, schedule } = functions;
    const reconcile = tracked('reconcile-tenant', functions.reconcile);
    const onboard = tracked('onboard-users', functions.onboard);
    const recordActivity = tracked('record-activity', functions.recordActivity);

    const context = (functionName: string, timeoutMs: number) =>
      createContext({ functionName, region: config.region, accountId: '000000000000', timeoutMs });

    const sources: EventSource[] = [];
    const sourceOf = new Map<SqsFunctionName, EventSource>();
    const wiring: readonly [SqsFunctionName, { url: string; arn: string }, SqsHandler][] = [
      ['reconcile-tenant', queues.reconcile, reconcile],
      ['onboard-users', queues.onboarding, onboard],
      ['record-activity', queues.activity, recordActivity],
    ];
    for (const [functionName, queue, handler] of wiring) {
      const settings = eventSources[functionName];
      const source = await startEventSource({
        sqs: runtime.sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        handler,
        batchSize: settings.batchSize,
        maximumBatchingWindowSeconds: settings.maximumBatchingWindowSeconds,
        concurrency: settings.concurrency,
        // Short polls keep stop() quick; Lambda's pollers wait 20 s, which only matters for an idle queue.
        waitTimeSeconds: 2,
        functionName,
        timeoutMs: settings.timeoutSeconds * 1_000,
        onError: report(functionName),
      });
      sources.push(source);
      sourceOf.set(functionName, source);
    }
    // The rules serverless.yml declares on the default bus, routed the way EventBridge matches them.
    for (const [name, rule] of Object.entries(eventRules)) {
      const target = rule.function === 'user-removed' ? functions.userRemoved : undefined;
      if (!target)
        throw new Error(`infra/event-rules.json: rule ${name} names an unknown function ${rule.function}`);
      eventBridge.addRule({
        name,
        eventBusName: rule.eventBus,
        pattern: rule.pattern,
        target: (event) => target(event, context(rule.function, 30_000)),
      });
    }
    stops.push(async () => {
      // A poller waits for its invocation in flight. Under serverless offline that invocation has already
      // failed (the functions stopped first); an in-process handler cannot be cut short, so it is given a
      // few seconds and then left behind rather than holding the whole stop up.
      await Promise.race([Promise.all(sources.map((source) => source.stop())), sleep(5_000)]);
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

    // A restored start keeps what it had: the demo is seeded only into an empty system.
    const existing = restored ? await runtime.policyStore.list() : [];
    const tenants =
      options.demo === false || existing.length > 0 ? [] : await seedDemo(emulator, runtime.policyStore);
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
    // Demo users seeded already past their expiry (plus Chime's deletion delay) are deleted by the sweep at
    // once, as Chime would; count what is left, so the banner shows what exists.
    emulator.sweep();
    const summary: TenantSummary[] =
      tenants.length > 0
        ? tenants.map((tenant) => {
            const users = emulator.userCount(tenant.appInstanceArn);
            return {
              tenantId: tenant.tenantId,
              appInstanceArn: tenant.appInstanceArn,
              users,
              sweptAtSeed: tenant.users - (users ?? 0),
            };
          })
        : existing.map((stored) => ({
            tenantId: stored.tenantId,
            appInstanceArn: stored.policy.appInstanceArn,
            users: emulator.userCount(stored.policy.appInstanceArn),
            sweptAtSeed: 0,
          }));

    // The queues are in memory, so a run an earlier start left half done lost its message; hand it back to
    // the reconcile queue from its checkpoint, as SQS redelivery would have.
    const resumedRuns: { tenantId: string; runId: string; step: number }[] = [];
    for (const stored of existing) {
      const [latest] = await runtime.runs.recent(stored.tenantId, 1);
      if (latest?.state !== 'running') continue;
      await runtime.reconcileQueue().send([
        {
          kind: 'continue',
          tenantId: latest.tenantId,
          runId: latest.runId,
          step: latest.step,
          ...(latest.cursor === undefined ? {} : { cursor: latest.cursor }),
          counters: { ...latest.counters },
        },
      ]);
      resumedRuns.push({ tenantId: latest.tenantId, runId: latest.runId, step: latest.step });
    }

    return {
      functions: functions.mode,
      eventSources,
      endpoints,
      config,
      environment: environmentFor(config, endpoints),
      tenants,
      summary,
      restored,
      resumedRuns,
      emulator,
      eventBridge,
      runtime,
      runSchedule,
      setEventSourceEnabled: async (functionName, enabled) => {
        const source = sourceOf.get(functionName);
        if (!source) throw new Error(`no event source for ${functionName}`);
        if (enabled) source.resume();
        else await source.pause();
      },
      stop: async () => {
        stopping = true;
        const interrupted = [...inFlight.values()];
        // Stop polling first (no new invocation starts), then the functions, so that an invocation in flight
        // is abandoned rather than awaited: its message is not deleted and goes back to the queue.
        // Pollers only stop receiving here; stopAll awaits them (bounded) after the functions are gone.
        for (const source of sources) source.stop().catch(() => undefined);
        await functions.stop();
        await stopAll();
        return { interrupted };
      },
    };
  } catch (error) {
    stopping = true;
    await stopAll();
    throw error;
  }
}

/** serverless.yml's event-source settings of the SQS-triggered functions, with the concurrency overrides. */
export function effectiveEventSources(
  options: Pick<LocalStackOptions, 'concurrency' | 'serverlessFile'> = {},
): Record<SqsFunctionName, EffectiveEventSource> {
  const settings = loadServerlessSettings({
    ...(options.serverlessFile ? { path: options.serverlessFile } : {}),
    stage: 'local',
  });
  const overrides: Record<SqsFunctionName, number | undefined> = {
    'reconcile-tenant': options.concurrency?.reconcile,
    'onboard-users': options.concurrency?.onboarding,
    'record-activity': options.concurrency?.activity,
  };
  const effective = (functionName: SqsFunctionName): EffectiveEventSource => {
    const deployed = settings.sqsEventSource(functionName);
    const override = overrides[functionName];
    return {
      ...deployed,
      concurrency: override ?? deployed.maximumConcurrency,
      concurrencyFrom: override === undefined ? 'serverless.yml' : 'options',
    };
  };
  return {
    'reconcile-tenant': effective('reconcile-tenant'),
    'onboard-users': effective('onboard-users'),
    'record-activity': effective('record-activity'),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The tenants named by the bodies of an SQS batch (tenant ids are not personal data). */
function tenantsOf(bodies: readonly string[]): string[] {
  const tenants = new Set<string>();
  for (const body of bodies) {
    try {
      const parsed = JSON.parse(body) as { tenantId?: unknown };
      if (typeof parsed.tenantId === 'string') tenants.add(parsed.tenantId);
    } catch {
      // Not JSON: the handler will dead-letter it; nothing to name here.
    }
  }
  return [...tenants];
}

/** An in-process server's EADDRINUSE as the refusal `local start` gives for a taken port. */
async function inUse(error: Error, claim: PortClaim): Promise<Error> {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
    return new Error(`${claim.service} on port ${claim.port}: ${error.message}`);
  }
  return new PortInUseError(claim, await portHolders(claim.port));
}
