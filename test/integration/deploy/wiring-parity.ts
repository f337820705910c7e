import { WORK_QUEUE_IDS } from '../../../functions/declaration';
import type { ResolvedFunction } from '../../../local/serverless-settings';
import { type LocalFunctionWiring, QUEUE_KIND } from '../../../local/stack-wiring';
import { type CfnResource, getAtt, type Template } from './iam';

/**
 * What the packaged template wires for each function against what the local stack wires for it
 * (local/stack-wiring.ts), both built from the same declarations: the functions, their timeout, memory and
 * own environment, and each trigger with every setting. A setting the local runners do not apply must be
 * named in the wiring's `awsOnly`, so a difference is always a declared one.
 */

type Problems = string[];

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function check(problems: Problems, what: string, template: unknown, local: unknown): void {
  if (!same(template, local)) {
    problems.push(
      `${what}: the template has ${JSON.stringify(template)}, the local stack ${JSON.stringify(local)}`,
    );
  }
}

function resourcesOf(template: Template, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** Every problem; empty when the template and the local stack wire the same functions the same way. */
export function wiringProblems(
  template: Template,
  prefix: string,
  wiring: readonly LocalFunctionWiring[],
  resolved: readonly ResolvedFunction[],
): string[] {
  const problems: Problems = [];
  const deployed = resourcesOf(template, 'AWS::Lambda::Function');
  check(
    problems,
    'functions',
    deployed.map(([, fn]) => fn.Properties.FunctionName).sort(),
    wiring.map((fn) => `${prefix}-${fn.name}`).sort(),
  );
  for (const local of wiring) {
    const found = deployed.find(([, fn]) => fn.Properties.FunctionName === `${prefix}-${local.name}`);
    const declared = resolved.find((fn) => fn.name === local.name);
    if (!found || !declared) continue;
    const [functionId, fn] = found;
    const where = local.name;
    check(problems, `${where}: Timeout`, fn.Properties.Timeout, local.timeoutSeconds);
    check(problems, `${where}: MemorySize`, fn.Properties.MemorySize, local.memoryMb);
    check(problems, `${where}: Handler`, fn.Properties.Handler, `functions/${local.name}/handler.handler`);
    check(
      problems,
      `${where}: ReservedConcurrentExecutions`,
      fn.Properties.ReservedConcurrentExecutions,
      declared.reservedConcurrency,
    );
    const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    for (const [name, value] of Object.entries(declared.environment)) {
      check(problems, `${where}: environment ${name}`, variables[name], value);
    }
    problems.push(...triggerProblems(template, functionId, local, declared));
  }
  return problems;
}

function triggerProblems(
  template: Template,
  functionId: string,
  local: LocalFunctionWiring,
  declared: ResolvedFunction,
): Problems {
  const problems: Problems = [];
  const where = `${local.name} trigger`;
  const targets = (rule: CfnResource) =>
    asList(rule.Properties.Targets as { Arn: unknown }[]).some(
      (target) => getAtt(target.Arn) === `${functionId}.Arn`,
    );
  const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').filter(
    ([, mapping]) => getAtt(mapping.Properties.FunctionName) === `${functionId}.Arn`,
  );
  const rules = resourcesOf(template, 'AWS::Events::Rule').filter(([, rule]) => targets(rule));
  const { trigger } = local;
  check(
    problems,
    `${where}: mappings and rules`,
    [mappings.length, rules.length],
    trigger.kind === 'sqs' || trigger.kind === 'stream' ? [1, 0] : [0, 1],
  );
  const [[, mapping] = []] = mappings;
  const [[, rule] = []] = rules;
  const awsOnly = local.awsOnly.join('\n');
  const declaredElsewhere = (setting: string, value: unknown, deployedValue: unknown) => {
    check(problems, `${where}: ${setting}`, deployedValue, value);
    if (!awsOnly.includes(setting))
      problems.push(`${where}: ${setting} is deployed but neither wired locally nor named in awsOnly`);
  };
  if (trigger.kind === 'sqs' && mapping) {
    const queueId = WORK_QUEUE_IDS.find((id) => QUEUE_KIND[id] === trigger.queue);
    const p = mapping.Properties;
    check(problems, `${where}: queue`, getAtt(p.EventSourceArn), `${queueId}.Arn`);
    check(problems, `${where}: BatchSize`, p.BatchSize, trigger.batchSize);
    check(
      problems,
      `${where}: MaximumBatchingWindowInSeconds`,
      p.MaximumBatchingWindowInSeconds ?? 0,
      trigger.maximumBatchingWindowSeconds,
    );
    check(
      problems,
      `${where}: MaximumConcurrency`,
      (p.ScalingConfig as { MaximumConcurrency?: number })?.MaximumConcurrency,
      trigger.maximumConcurrency,
    );
    check(
      problems,
      `${where}: FunctionResponseTypes`,
      p.FunctionResponseTypes,
      trigger.reportBatchItemFailures ? ['ReportBatchItemFailures'] : undefined,
    );
    if (trigger.concurrencyFrom === 'declaration') {
      const capped = Math.min(
        trigger.maximumConcurrency,
        declared.reservedConcurrency ?? Number.POSITIVE_INFINITY,
      );
      check(problems, `${where}: pollers`, capped, trigger.concurrency);
    }
  } else if (trigger.kind === 'stream' && mapping && declared.trigger.type === 'dynamodbStream') {
    const p = mapping.Properties;
    const aws = declared.trigger;
    check(problems, `${where}: stream`, getAtt(p.EventSourceArn), `${trigger.table}.StreamArn`);
    check(problems, `${where}: BatchSize`, p.BatchSize, trigger.batchSize);
    check(problems, `${where}: StartingPosition`, p.StartingPosition, trigger.startingPosition);
    declaredElsewhere('batchWindowSeconds', aws.batchWindowSeconds, p.MaximumBatchingWindowInSeconds);
    // The local stream runner applies the failure settings itself (local/stream-runner.ts).
    check(
      problems,
      `${where}: BisectBatchOnFunctionError`,
      p.BisectBatchOnFunctionError,
      trigger.bisectBatchOnFunctionError,
    );
    check(problems, `${where}: MaximumRetryAttempts`, p.MaximumRetryAttempts, trigger.maximumRetryAttempts);
    check(
      problems,
      `${where}: MaximumRecordAgeInSeconds`,
      p.MaximumRecordAgeInSeconds,
      trigger.maximumRecordAgeSeconds,
    );
    const destination = (p.DestinationConfig as { OnFailure?: { Destination: unknown } } | undefined)
      ?.OnFailure;
    check(
      problems,
      `${where}: OnFailure`,
      getAtt(destination?.Destination)?.replace(/\.Arn$/, ''),
      trigger.onFailureQueue,
    );
  } else if (trigger.kind === 'schedule' && rule && declared.trigger.type === 'schedule') {
    check(problems, `${where}: ScheduleExpression`, rule.Properties.ScheduleExpression, trigger.rate);
    declaredElsewhere('enabled', declared.trigger.enabled ? 'ENABLED' : 'DISABLED', rule.Properties.State);
  } else if (trigger.kind === 'rule' && rule && declared.trigger.type === 'eventBridge') {
    check(problems, `${where}: EventPattern`, rule.Properties.EventPattern, trigger.pattern);
    const [target] = asList(
      rule.Properties.Targets as { RetryPolicy?: unknown; DeadLetterConfig?: { Arn: unknown } }[],
    );
    check(problems, `${where}: RetryPolicy`, target?.RetryPolicy, {
      MaximumEventAgeInSeconds: trigger.retryPolicy.maximumEventAgeSeconds,
      MaximumRetryAttempts: trigger.retryPolicy.maximumRetryAttempts,
    });
    check(
      problems,
      `${where}: DeadLetterConfig`,
      getAtt(target?.DeadLetterConfig?.Arn)?.replace(/\.Arn$/, ''),
      trigger.deadLetterQueue,
    );
    const [[, invokeConfig] = []] = resourcesOf(template, 'AWS::Lambda::EventInvokeConfig').filter(
      ([, config]) => (config.Properties.FunctionName as { Ref?: string })?.Ref === functionId,
    );
    const retries = declared.trigger.functionErrorRetries;
    declaredElsewhere(
      'functionErrorRetries',
      `${retries.maximumRetryAttempts} within ${retries.maximumEventAgeSeconds} s`,
      `${invokeConfig?.Properties.MaximumRetryAttempts} within ${invokeConfig?.Properties.MaximumEventAgeInSeconds} s`,
    );
    check(
      problems,
      `${where}: on-failure destination`,
      getAtt(
        (invokeConfig?.Properties.DestinationConfig as { OnFailure?: { Destination: unknown } } | undefined)
          ?.OnFailure?.Destination,
      )?.replace(/\.Arn$/, ''),
      trigger.deadLetterQueue,
    );
    // No EventBusName: the default bus, where the local stack adds the rule too.
    check(
      problems,
      `${where}: EventBusName`,
      rule.Properties.EventBusName ?? 'default',
      trigger.eventBusName,
    );
  }
  return problems;
}
