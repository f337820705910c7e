import { describe, expect, it, vi } from 'vitest';
import { defineFunction, type FunctionDeclaration, param } from '../../../functions/declaration';
import { PARAMS } from '../../../infra/params';
import { loadServerlessSettings, resolveFunction } from '../../../local/serverless-settings';

/** A declaration with an SQS trigger, its trigger settings overridden. */
function consumer(
  trigger: Partial<Extract<FunctionDeclaration['trigger'], { type: 'sqs' }>>,
): FunctionDeclaration {
  return defineFunction({
    name: 'consume',
    description: 'a test consumer',
    timeoutSeconds: 60,
    trigger: {
      type: 'sqs',
      queue: 'ActivityQueue',
      batchSize: 10,
      maximumConcurrency: 2,
      reportBatchItemFailures: true,
      ...trigger,
    },
    iam: [],
  });
}

/** Stage params for the tests: the real names, the values chosen per case. */
const params = (defaults: Record<string, unknown>, local: Record<string, unknown> = {}) => ({
  default: { ...PARAMS.default, ...defaults },
  local,
});

describe('loadServerlessSettings (the declared functions)', () => {
  const settings = loadServerlessSettings();

  it('gives every SQS-triggered function its deployed batch, window, concurrency and timeout', () => {
    expect(settings.sqsEventSources()).toEqual({
      'reconcile-tenant': {
        batchSize: 1,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 5,
        timeoutSeconds: 900,
      },
      'onboard-users': {
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 2,
        timeoutSeconds: 120,
      },
      'record-activity': {
        batchSize: 100,
        maximumBatchingWindowSeconds: 5,
        maximumConcurrency: 2,
        timeoutSeconds: 30,
      },
    });
  });

  it("resolves params for the stage: the stage's value over default", () => {
    const schedule = (stage: string) =>
      loadServerlessSettings({ stage })
        .functions()
        .find((fn) => fn.name === 'schedule-sync')?.trigger;
    expect(schedule('local')).toEqual({ type: 'schedule', rate: 'rate(1 hour)', enabled: false });
    expect(schedule('prod')).toEqual({ type: 'schedule', rate: 'rate(1 hour)', enabled: true });
    const reconcile = settings.functions().find((fn) => fn.name === 'reconcile-tenant');
    expect(reconcile?.environment).toEqual({ CHIME_LIFECYCLE_QUOTA_FALLBACK_SHARE: '0.14' });
    expect(reconcile?.memoryMb).toBe(256);
  });

  it("sizes onboard-users' batch for the local stage's quota scale: given, else CHIME_LIFECYCLE_QUOTA_SCALE, else 1", () => {
    const onboarding = (options: Parameters<typeof loadServerlessSettings>[0]) =>
      loadServerlessSettings(options).sqsEventSource('onboard-users').batchSize;
    expect(onboarding({ quotaScale: 20 })).toBe(200);
    vi.stubEnv('CHIME_LIFECYCLE_QUOTA_SCALE', '5');
    try {
      expect(onboarding({})).toBe(50);
      // The deployed stages keep their params: a deploy sets onboardingBatchSize itself.
      expect(onboarding({ stage: 'prod', quotaScale: 20 })).toBe(10);
      vi.stubEnv('CHIME_LIFECYCLE_QUOTA_SCALE', 'fast');
      expect(() => onboarding({})).toThrow(
        /CHIME_LIFECYCLE_QUOTA_SCALE must be a number above 0, got "fast"/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('names the functions that have an sqs trigger when asked for one that has none', () => {
    expect(() => settings.sqsEventSource('schedule-sync')).toThrow(
      /function schedule-sync has no sqs trigger \(functions with one: reconcile-tenant, onboard-users, record-activity\)/,
    );
  });
});

describe('resolveFunction (one declaration, one stage)', () => {
  it('resolves param() and plain values alike', () => {
    const declaration = consumer({
      batchSize: param('onboardingBatchSize'),
      maximumBatchingWindowSeconds: param('onboardingBatchWindowSeconds'),
      maximumConcurrency: param('reconcileConcurrency'),
    });
    expect(resolveFunction(declaration, 'prod').trigger).toEqual({
      type: 'sqs',
      queue: 'ActivityQueue',
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      maximumConcurrency: 5,
      reportBatchItemFailures: true,
    });
  });

  it.each([
    [
      'a value out of Lambda range',
      { batchSize: param('onboardingBatchSize') },
      params({ onboardingBatchSize: 10_001 }),
      /consume\/function\.ts: trigger\.batchSize must be an integer from 1 to 10000, got 10001 \(from param onboardingBatchSize, stage local/,
    ],
    [
      'a concurrency below Lambda minimum',
      { maximumConcurrency: param('reconcileConcurrency') },
      params({ reconcileConcurrency: 1 }),
      /trigger\.maximumConcurrency must be an integer from 2 to 1000, got 1/,
    ],
    [
      'a value that is no number',
      { maximumConcurrency: param('reconcileConcurrency') },
      params({ reconcileConcurrency: 'two' }),
      /trigger\.maximumConcurrency must be an integer from 2 to 1000, got "two"/,
    ],
    [
      'a variable only Serverless can resolve',
      { maximumConcurrency: param('quotaScale') },
      // The local stage's quotaScale is the offline process's variable, as serverless.ts hands it over.
      PARAMS,
      /trigger\.maximumConcurrency is \$\{env:CHIME_LIFECYCLE_QUOTA_SCALE, '1'\} \(from param quotaScale, stage local, infra\/params\.ts\), which only the Serverless Framework can resolve/,
    ],
    [
      'a param the stage does not define',
      { batchSize: param('onboardingBatchSize') },
      { default: {}, local: {} },
      /trigger\.batchSize names param onboardingBatchSize, which stage local does not define; add it to infra\/params\.ts/,
    ],
    [
      'a batch above 10 without a batching window, as Lambda refuses it',
      { batchSize: 11 },
      PARAMS,
      /consume\/function\.ts: trigger\.batchSize 11 needs maximumBatchingWindowSeconds of at least 1/,
    ],
  ])('refuses %s, naming the function, setting and param', (_what, trigger, stageParams, expected) => {
    expect(() => resolveFunction(consumer(trigger), 'local', stageParams)).toThrow(expected);
  });

  it("uses the stage's value over default, and default for a stage that sets none", () => {
    const declaration = consumer({ maximumConcurrency: param('reconcileConcurrency') });
    const stageParams = params({ reconcileConcurrency: 3 }, { reconcileConcurrency: 7 });
    const concurrency = (stage: string) => {
      const { trigger } = resolveFunction(declaration, stage, stageParams);
      return trigger.type === 'sqs' ? trigger.maximumConcurrency : undefined;
    };
    expect(concurrency('local')).toBe(7);
    expect(concurrency('dev')).toBe(3);
  });
});

describe('defineFunction (the declaration type)', () => {
  it.each([
    ['a wildcard action', { iam: [{ sid: 'All', actions: ['sqs:*'], resource: '*' }] }, /no wildcard/],
    ['an unknown queue', { trigger: { type: 'sqs', queue: 'NoSuchQueue' } }, /trigger/],
    ['a timeout past Lambda maximum', { timeoutSeconds: 901 }, /timeoutSeconds/],
    ['an unknown setting', { retries: 3 }, /retries/],
  ])('refuses %s, naming the file and the setting', (_what, change, expected) => {
    const valid = consumer({});
    const broken = { ...valid, ...change } as unknown as FunctionDeclaration;
    expect(() => defineFunction(broken)).toThrow(
      /functions\/consume\/function\.ts is not a valid declaration/,
    );
    expect(() => defineFunction(broken)).toThrow(expected);
  });
});
