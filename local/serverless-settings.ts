/**
 * The settings the service deploys, resolved for one stage: the function declarations
 * (functions/<name>/function.ts, the list in functions/index.ts) with every `param('name')` replaced by the
 * stage's value of infra/params.ts, as the Serverless Framework resolves `${param:name}` when serverless.ts
 * builds the template from the same declarations. The local stack, `chime-lifecycle worker` and the benches
 * take batch sizes, windows, concurrencies and timeouts from here, never numbers of their own.
 *
 * A parameter that does not resolve to a value the setting takes (a number out of Lambda's range, a
 * variable such as `${env:…}` only Serverless can evaluate) is refused with the function, setting and
 * parameter named, never guessed.
 */
import {
  DEFAULT_MEMORY_MB,
  type FailureQueueId,
  type FunctionDeclaration,
  type ParamRef,
  type Trigger,
} from '../functions/declaration';
import { FUNCTIONS } from '../functions/index';
import { onboardingAtQuotaScale, PARAMS, paramValue, type StageParams } from '../infra/params';

export interface SqsEventSourceSettings {
  /** Messages per invocation (Lambda: 1..10,000). */
  readonly batchSize: number;
  /** How long Lambda gathers a batch (0..300 s; 0 when the declaration sets none, Lambda's default). */
  readonly maximumBatchingWindowSeconds: number;
  /** Concurrent invocations the mapping may run (Lambda: 2..1,000). */
  readonly maximumConcurrency: number;
  /** The function's timeout. */
  readonly timeoutSeconds: number;
}

type SqsTrigger = Extract<Trigger, { type: 'sqs' }>;
type StreamTrigger = Extract<Trigger, { type: 'dynamodbStream' }>;

/** A trigger with its parameters resolved. */
export type ResolvedTrigger =
  | {
      readonly type: 'sqs';
      readonly queue: SqsTrigger['queue'];
      readonly batchSize: number;
      readonly maximumBatchingWindowSeconds: number;
      readonly maximumConcurrency: number;
      readonly reportBatchItemFailures: boolean;
    }
  | (Omit<StreamTrigger, 'onFailure'> & { readonly onFailureQueue?: FailureQueueId })
  | { readonly type: 'schedule'; readonly rate: string; readonly enabled: boolean }
  | Extract<Trigger, { type: 'eventBridge' }>;

/** A declaration with its parameters resolved for a stage. */
export interface ResolvedFunction {
  readonly name: FunctionDeclaration['name'];
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly reservedConcurrency?: number;
  /** The function's own variables (the service-wide ones are the same for every function). */
  readonly environment: Readonly<Record<string, string>>;
  readonly trigger: ResolvedTrigger;
}

export interface ServerlessSettings {
  readonly stage: string;
  /** Every declared function, resolved. */
  functions(): readonly ResolvedFunction[];
  /** Every function with an SQS trigger, by function name. */
  sqsEventSources(): Readonly<Record<string, SqsEventSourceSettings>>;
  /** One function's SQS event source; throws naming the function when it has none. */
  sqsEventSource(functionName: string): SqsEventSourceSettings;
}

export interface LoadServerlessSettingsOptions {
  /** Whose params override `default` (default `local`, the stage `serverless offline` runs). */
  readonly stage?: string;
  /** Default: every declared function (functions/index.ts). */
  readonly functions?: readonly FunctionDeclaration[];
  /** Default: the service's (infra/params.ts), for the local stage at `quotaScale`. */
  readonly params?: StageParams;
  /**
   * The quota scale the local stage runs at (the local stack's, else CHIME_LIFECYCLE_QUOTA_SCALE as the
   * local stage's own quotaScale param reads it, else 1). onboard-users' batch size and window follow it
   * (`onboardingAtQuotaScale`), as a deploy at raised quotas sets them; ignored with explicit `params`.
   */
  readonly quotaScale?: number;
}

/** The service's params with the local stage's onboard-users batch size and window for its quota scale. */
export function localParams(quotaScale: number): StageParams {
  return { ...PARAMS, local: { ...PARAMS.local, ...onboardingAtQuotaScale(quotaScale) } };
}

/** CHIME_LIFECYCLE_QUOTA_SCALE as the local stage reads it (`${env:CHIME_LIFECYCLE_QUOTA_SCALE, '1'}`). */
function environmentQuotaScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CHIME_LIFECYCLE_QUOTA_SCALE?.trim();
  if (!raw) return 1;
  const scale = Number(raw);
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new RangeError(`CHIME_LIFECYCLE_QUOTA_SCALE must be a number above 0, got ${JSON.stringify(raw)}`);
  }
  return scale;
}

/** What one ReceiveMessage returns at most; Lambda needs a batching window to gather more. */
const SQS_RECEIVE_MAX = 10;

export function loadServerlessSettings(options: LoadServerlessSettingsOptions = {}): ServerlessSettings {
  const stage = options.stage ?? 'local';
  const params = options.params ?? localParams(options.quotaScale ?? environmentQuotaScale());
  const functions = (options.functions ?? FUNCTIONS).map((declaration) =>
    resolveFunction(declaration, stage, params),
  );
  const sources: Record<string, SqsEventSourceSettings> = {};
  for (const fn of functions) {
    if (fn.trigger.type !== 'sqs') continue;
    const { batchSize, maximumBatchingWindowSeconds, maximumConcurrency } = fn.trigger;
    sources[fn.name] = {
      batchSize,
      maximumBatchingWindowSeconds,
      maximumConcurrency,
      timeoutSeconds: fn.timeoutSeconds,
    };
  }
  return {
    stage,
    functions: () => functions,
    sqsEventSources: () => ({ ...sources }),
    sqsEventSource(functionName) {
      const found = sources[functionName];
      if (!found) {
        const known = Object.keys(sources).join(', ') || 'none';
        throw new Error(`function ${functionName} has no sqs trigger (functions with one: ${known})`);
      }
      return found;
    },
  };
}

/** One declaration with every parameter replaced by the stage's value. */
export function resolveFunction(
  declaration: FunctionDeclaration,
  stage: string,
  params: StageParams = PARAMS,
): ResolvedFunction {
  const where = `functions/${declaration.name}/function.ts`;
  const resolver = new ParamResolver(where, stage, params);
  const environment = Object.fromEntries(
    Object.entries(declaration.environment ?? {}).map(([name, value]) => [
      name,
      resolver.text(`environment.${name}`, value),
    ]),
  );
  return {
    name: declaration.name,
    description: declaration.description,
    timeoutSeconds: declaration.timeoutSeconds,
    memoryMb: declaration.memoryMb ?? DEFAULT_MEMORY_MB,
    ...(declaration.reservedConcurrency === undefined
      ? {}
      : { reservedConcurrency: declaration.reservedConcurrency }),
    environment,
    trigger: resolveTrigger(declaration.trigger, resolver, where),
  };
}

function resolveTrigger(trigger: Trigger, resolver: ParamResolver, where: string): ResolvedTrigger {
  switch (trigger.type) {
    case 'sqs': {
      const batchSize = resolver.integer('trigger.batchSize', trigger.batchSize, 1, 10_000);
      const maximumBatchingWindowSeconds =
        trigger.maximumBatchingWindowSeconds === undefined
          ? 0
          : resolver.integer(
              'trigger.maximumBatchingWindowSeconds',
              trigger.maximumBatchingWindowSeconds,
              0,
              300,
            );
      if (batchSize > SQS_RECEIVE_MAX && maximumBatchingWindowSeconds < 1) {
        throw new Error(
          `${where}: trigger.batchSize ${batchSize} needs maximumBatchingWindowSeconds of at least 1 (Lambda refuses batches over ${SQS_RECEIVE_MAX} without one)`,
        );
      }
      return {
        type: 'sqs',
        queue: trigger.queue,
        batchSize,
        maximumBatchingWindowSeconds,
        maximumConcurrency: resolver.integer(
          'trigger.maximumConcurrency',
          trigger.maximumConcurrency,
          2,
          1_000,
        ),
        reportBatchItemFailures: trigger.reportBatchItemFailures,
      };
    }
    case 'dynamodbStream': {
      const { onFailure, ...settings } = trigger;
      return { ...settings, ...(onFailure ? { onFailureQueue: onFailure.queue } : {}) };
    }
    case 'schedule':
      return {
        type: 'schedule',
        rate: resolver.text('trigger.rate', trigger.rate),
        enabled: resolver.boolean('trigger.enabled', trigger.enabled),
      };
    case 'eventBridge':
      // Nothing to resolve: the pattern, the retries and the dead-letter queue are the same on every stage.
      return trigger;
  }
}

/** Resolves `param('name')` for one function and stage, naming both in every refusal. */
class ParamResolver {
  constructor(
    private readonly where: string,
    private readonly stage: string,
    private readonly params: StageParams,
  ) {}

  integer(key: string, value: number | ParamRef, min: number, max: number): number {
    const { resolved, via } = this.lookUp(key, value);
    const number =
      typeof resolved === 'string' && /^\s*-?\d+\s*$/.test(resolved) ? Number(resolved) : resolved;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      throw new Error(
        `${this.where}: ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(resolved)}${via}`,
      );
    }
    return number;
  }

  boolean(key: string, value: boolean | ParamRef): boolean {
    const { resolved, via } = this.lookUp(key, value);
    if (resolved === true || resolved === 'true') return true;
    if (resolved === false || resolved === 'false') return false;
    throw new Error(`${this.where}: ${key} must be true or false, got ${JSON.stringify(resolved)}${via}`);
  }

  text(key: string, value: string | ParamRef): string {
    const { resolved, via } = this.lookUp(key, value);
    if (typeof resolved !== 'string' && typeof resolved !== 'number') {
      throw new Error(`${this.where}: ${key} must be a string, got ${JSON.stringify(resolved)}${via}`);
    }
    return String(resolved);
  }

  private lookUp(key: string, value: unknown): { resolved: unknown; via: string } {
    if (typeof value !== 'object' || value === null) return { resolved: value, via: '' };
    const name = (value as ParamRef).param;
    const via = ` (from param ${name}, stage ${this.stage}, infra/params.ts)`;
    const resolved = paramValue(name, this.stage, this.params);
    if (resolved === undefined) {
      throw new Error(
        `${this.where}: ${key} names param ${name}, which stage ${this.stage} does not define; add it to infra/params.ts`,
      );
    }
    if (typeof resolved === 'string' && resolved.includes('${')) {
      throw new Error(
        `${this.where}: ${key} is ${resolved}${via}, which only the Serverless Framework can resolve; give the param a plain value`,
      );
    }
    return { resolved, via };
  }
}
