import type { ChimeEmulator } from '../emulator';
import { FUNCTIONS, type SqsFunctionName } from '../functions/index';
import { type Endpoints, Runtime } from '../shared/composition-root';
import { type Config, loadConfig } from '../shared/config';
import type { QueueKind } from '../shared/queue-settings';
import { type ChildDeath, ChildWatch } from './child-watch';
import type { DemoTenant } from './demo';
import { environmentFor, exportEnvironment } from './environment';
import { describeDeliveryFailure, type LocalEventBridge, type ReceivedEvent } from './eventbridge-server';
import { LOCAL_PORTS } from './ports';
import { loadServerlessSettings, type SqsEventSourceSettings } from './serverless-settings';
import { InFlight, type Interrupted, loadFunctions } from './stack-functions';
import { provision, type ServiceOptions, type Stops, startServices } from './stack-services';
import { type PolicyFile, prepareState, type ResumedRun, type TenantSummary } from './stack-state';
import { startTriggers } from './stack-triggers';
import { type LocalFunctionWiring, localWiring } from './stack-wiring';
import type { LocalSts } from './sts-server';

export { StateFileError } from '../emulator';
export type { SqsFunctionName } from '../functions/index';
export { type ChildDeath, describeChildDeath } from './child-watch';
export type { Interrupted } from './stack-functions';
export type { PolicyFile, TenantSummary } from './stack-state';

/**
 * The whole system on one machine: DynamoDB Local, a local SQS server, the Chime SDK Identity emulator and a
 * local EventBridge (stack-services.ts), with the real Lambda handlers (stack-functions.ts) wired to their
 * triggers the way AWS wires them, from the same declarations the deployed template is built from
 * (functions/<name>/function.ts → stack-wiring.ts → stack-triggers.ts): the queues through the faithful
 * event-source runner (partial batch failures honoured; batch size, batching window, concurrency and timeout
 * as deployed), the policy table's stream, the EventBridge rules and the schedule.
 */

export interface LocalStackOptions {
  readonly ports?: Partial<Record<keyof typeof LOCAL_PORTS, number>>;
  readonly host?: string;
  /** Seed the demo tenants, policies and users (default true). */
  readonly demo?: boolean;
  /** Minutes between scheduled syncs; 0 turns the schedule off (the first sync still runs at start). */
  readonly scheduleMinutes?: number;
  /** Quota scale for both the emulator and the clients (default 1: the real AWS quotas). */
  readonly quotaScale?: number;
  /**
   * Benchmarks' ceiling runs: the scale the emulator and the clients enforce, when it differs from
   * `quotaScale` (which the wiring, e.g. onboard-users' batch size, still follows): the same stack with its
   * quotas lifted, to measure what the machine carries. Default: `quotaScale`.
   */
  readonly enforcedQuotaScale?: number;
  /** Where generated files go (policy documents of the demo tenants). */
  readonly workDir?: string;
  /**
   * How the functions run: `serverless-offline` (default) runs them as serverless.ts builds them behind the
   * Lambda Invoke API; `in-process` imports the handlers into this process (faster start, no esbuild).
   */
  readonly functions?: 'serverless-offline' | 'in-process';
  /**
   * Concurrent invocations per queue, overriding the declared maximumConcurrency (the default, as deployed).
   * Batch size, batching window and timeout always come from the declarations.
   */
  readonly concurrency?: Partial<Record<QueueKind, number>>;
  /**
   * Keep state in this directory across starts: DynamoDB Local's database file and the emulator's saved
   * state. Without it everything is in memory and a start begins from the demo data.
   */
  readonly persistDir?: string;
  /** Told about every child process as soon as it is spawned (the pid file and reaper of `local start`). */
  readonly onChildProcess?: (child: { name: string; pid: number; group: boolean }) => Promise<void>;
  readonly onServerlessOutput?: (line: string) => void;
  /**
   * Aborted: the start goes no further than the step in hand, stops what it started and rejects (a Ctrl-C
   * during start-up; its children are stopped by whoever recorded them through `onChildProcess`).
   */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: ReceivedEvent) => void;
  readonly onError?: (source: string, error: unknown) => void;
}

/** How the local stack delivers one queue to its function: the declared settings, concurrency as run. */
export interface EffectiveEventSource extends SqsEventSourceSettings {
  /** Concurrent invocations the pollers run (the declared maximumConcurrency unless overridden). */
  readonly concurrency: number;
  readonly concurrencyFrom: 'declaration' | 'options';
}

export interface LocalStack {
  readonly functions: 'serverless-offline' | 'in-process';
  /** Every function and what delivers its trigger locally (for banners and the parity test). */
  readonly wiring: readonly LocalFunctionWiring[];
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
  readonly resumedRuns: readonly ResumedRun[];
  /** The demo's policy files in `<workDir>/policies/`: written where none was, kept (never overwritten) where one was. */
  readonly policyFiles: readonly PolicyFile[];
  readonly emulator: ChimeEmulator;
  readonly eventBridge: LocalEventBridge;
  /** The local STS: tenants' roles in other accounts (which roles it trusts, how often each was assumed). */
  readonly sts: LocalSts;
  readonly runtime: Runtime;
  /**
   * Resolves when a child process the stack cannot run without (DynamoDB Local, serverless offline) ends
   * while the stack runs; never while stopping. The stack does not restart it: `local start` stops
   * everything and exits 1, naming the child.
   */
  readonly died: Promise<ChildDeath>;
  /** Runs every scheduled function now (what the EventBridge schedule does); resolves to their results. */
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

/**
 * What the local stack wires, from the declarations resolved for the `local` stage at the stack's quota
 * scale (onboard-users' batch size and window follow it: infra/params.ts, `onboardingAtQuotaScale`).
 */
export function stackWiring(
  options: Pick<LocalStackOptions, 'concurrency' | 'scheduleMinutes' | 'quotaScale'> = {},
): LocalFunctionWiring[] {
  const settings = loadServerlessSettings({ stage: 'local', quotaScale: options.quotaScale ?? 1 });
  return localWiring(settings.functions(), {
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.scheduleMinutes === undefined ? {} : { scheduleMinutes: options.scheduleMinutes }),
  });
}

/** The declared event-source settings of the SQS-triggered functions, with the concurrency overrides. */
export function effectiveEventSources(
  options: Pick<LocalStackOptions, 'concurrency' | 'quotaScale'> = {},
): Record<SqsFunctionName, EffectiveEventSource> {
  const sources: Partial<Record<string, EffectiveEventSource>> = {};
  for (const fn of stackWiring(options)) {
    if (fn.trigger.kind !== 'sqs') continue;
    const { batchSize, maximumBatchingWindowSeconds, maximumConcurrency, concurrency, concurrencyFrom } =
      fn.trigger;
    sources[fn.name] = {
      batchSize,
      maximumBatchingWindowSeconds,
      maximumConcurrency,
      timeoutSeconds: fn.timeoutSeconds,
      concurrency,
      concurrencyFrom,
    };
  }
  return sources as Record<SqsFunctionName, EffectiveEventSource>;
}

/** The servers' options, from the stack's. */
function serviceOptions(
  options: LocalStackOptions,
  ports: Record<keyof typeof LOCAL_PORTS, number>,
  quotaScale: number,
): ServiceOptions {
  return {
    host: options.host ?? '127.0.0.1',
    ports,
    quotaScale,
    ...(options.persistDir ? { persistDir: options.persistDir } : {}),
    ...(options.onChildProcess ? { onChildProcess: options.onChildProcess } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    // An event a rule gave up on is never dropped in silence: one line names the rule and the event,
    // while stopping too (the retries still waiting are given up on then).
    onDeliveryFailed: (failure) =>
      options.onError?.('eventbridge', new Error(describeDeliveryFailure(failure))),
  };
}

/** Starts the whole stack; on any failure, stops what it had started and rethrows. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // The STS port is `npm start`'s fixed 4020 only when asked for (the CLI does): a stack whose caller picks
  // its own ports gets a free one rather than colliding with a running `npm start`.
  const ports = { ...LOCAL_PORTS, sts: 0, ...options.ports };
  const quotaScale = options.enforcedQuotaScale ?? options.quotaScale ?? 1;
  const stops: Stops = [];
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
  const inFlight = new InFlight();
  const children = new ChildWatch();
  // Resolved before anything starts: a declaration the local stack cannot follow stops the start at once.
  const wiring = stackWiring(options);
  const eventSources = effectiveEventSources(options);

  try {
    const services = await startServices(serviceOptions(options, ports, quotaScale), stops);
    const { endpoints, emulator, eventBridge, sts } = services;
    children.watch({ name: 'DynamoDB Local', pid: services.dynamo.pid, exited: services.dynamo.exited });
    const config = loadConfig({ ...process.env, CHIME_LIFECYCLE_QUOTA_SCALE: String(quotaScale) });
    exportEnvironment(config, endpoints);
    const runtime = new Runtime(config, { endpoints });
    stops.push(async () => runtime.destroy());
    options.signal?.throwIfAborted();
    const provisioned = await provision(runtime, config);
    options.signal?.throwIfAborted();
    const restored = options.persistDir !== undefined && provisioned.tables.every((table) => !table.created);

    const functions = await loadFunctions(
      {
        mode: options.functions ?? 'serverless-offline',
        names: FUNCTIONS.map((fn) => fn.name),
        lambdaPort: ports.lambda,
        environment: environmentFor(config, endpoints),
        ...(options.onChildProcess ? { onChildProcess: options.onChildProcess } : {}),
        ...(options.onServerlessOutput ? { onServerlessOutput: options.onServerlessOutput } : {}),
      },
      stops,
    );
    if (functions.process) children.watch(functions.process);
    options.signal?.throwIfAborted();
    const triggers = await startTriggers(
      wiring,
      {
        runtime,
        config,
        ...provisioned,
        dynamoUrl: endpoints.dynamodb,
        eventBridge,
        functions,
        inFlight,
        report,
      },
      stops,
    );
    options.signal?.throwIfAborted();
    const state = await prepareState(runtime, emulator, {
      restored,
      ...(options.demo === undefined ? {} : { demo: options.demo }),
      ...(options.workDir ? { workDir: options.workDir } : {}),
    });

    return {
      functions: functions.mode,
      wiring,
      eventSources,
      endpoints,
      config,
      environment: environmentFor(config, endpoints),
      ...state,
      restored,
      emulator,
      eventBridge,
      sts,
      runtime,
      died: children.died,
      runSchedule: () => triggers.runSchedule(),
      setEventSourceEnabled: async (functionName, enabled) => {
        const source = triggers.sources.get(functionName);
        if (!source) throw new Error(`no event source for ${functionName}`);
        if (enabled) source.resume();
        else await source.pause();
      },
      stop: async () => {
        stopping = true;
        children.quiet();
        const interrupted = inFlight.now();
        // Stop polling first (no new invocation starts), then the functions, so that an invocation in flight
        // is abandoned rather than awaited: its message is not deleted and goes back to the queue.
        // Pollers only stop receiving here; stopAll awaits them (bounded) after the functions are gone.
        for (const source of triggers.sources.values()) source.stop().catch(() => undefined);
        await functions.stop();
        await stopAll();
        return { interrupted };
      },
    };
  } catch (error) {
    stopping = true;
    children.quiet();
    await stopAll();
    throw error;
  }
}
