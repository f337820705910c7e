import { describe, expect, it } from 'vitest';
import { param, type Trigger } from '../../../functions/declaration';
import { FUNCTIONS } from '../../../functions/index';
import {
  functionRole,
  lambdaLogicalId,
  roleLogicalId,
  ruleDeadLetterQueuePolicies,
  serverlessEvent,
  serverlessFunction,
} from '../../../infra/functions';
import { dashboard, lambdaThrottlesAlarm } from '../../../infra/monitoring';
import service from '../../../serverless';

/** How serverless.ts turns the declarations into its functions and per-function resources. */

describe('serverlessEvent (a trigger as Serverless takes it)', () => {
  it.each<[string, Trigger, unknown]>([
    [
      'an SQS trigger, its settings from params',
      {
        type: 'sqs',
        queue: 'OnboardingQueue',
        batchSize: param('onboardingBatchSize'),
        maximumBatchingWindowSeconds: 1,
        maximumConcurrency: param('onboardingConcurrency'),
        reportBatchItemFailures: true,
      },
      {
        sqs: {
          arn: { 'Fn::GetAtt': ['OnboardingQueue', 'Arn'] },
          batchSize: `\${param:onboardingBatchSize}`,
          maximumBatchingWindow: 1,
          functionResponseType: 'ReportBatchItemFailures',
          maximumConcurrency: `\${param:onboardingConcurrency}`,
        },
      },
    ],
    [
      'an SQS trigger without partial batch responses or window',
      {
        type: 'sqs',
        queue: 'ActivityQueue',
        batchSize: 5,
        maximumConcurrency: 2,
        reportBatchItemFailures: false,
      },
      { sqs: { arn: { 'Fn::GetAtt': ['ActivityQueue', 'Arn'] }, batchSize: 5, maximumConcurrency: 2 } },
    ],
    [
      'a stream trigger with an on-failure destination',
      {
        type: 'dynamodbStream',
        table: 'PolicyTable',
        batchSize: 100,
        startingPosition: 'LATEST',
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 5,
        maximumRecordAgeSeconds: 3600,
        onFailure: { queue: 'PolicyStreamFailureQueue' },
      },
      {
        stream: {
          type: 'dynamodb',
          arn: { 'Fn::GetAtt': ['PolicyTable', 'StreamArn'] },
          batchSize: 100,
          startingPosition: 'LATEST',
          bisectBatchOnFunctionError: true,
          maximumRetryAttempts: 5,
          maximumRecordAgeInSeconds: 3600,
          destinations: {
            onFailure: { arn: { 'Fn::GetAtt': ['PolicyStreamFailureQueue', 'Arn'] }, type: 'sqs' },
          },
        },
      },
    ],
    [
      'a schedule, enabled by a string param',
      { type: 'schedule', rate: param('scheduleRate'), enabled: param('scheduleEnabled') },
      { schedule: { rate: `\${param:scheduleRate}`, enabled: `\${strToBool(\${param:scheduleEnabled})}` } },
    ],
    [
      'a rule on the default bus, named, with its retry policy and dead-letter queue',
      {
        type: 'eventBridge',
        pattern: { source: ['aws.chime'] },
        retryPolicy: { maximumEventAgeSeconds: 3600, maximumRetryAttempts: 10 },
        functionErrorRetries: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600 },
        deadLetterQueue: 'UserRemovedDeadLetterQueue',
      },
      {
        eventBridge: {
          name: `\${self:service}-\${sls:stage}-fn`,
          pattern: { source: ['aws.chime'] },
          retryPolicy: { maximumEventAge: 3600, maximumRetryAttempts: 10 },
          deadLetterQueueArn: { 'Fn::GetAtt': ['UserRemovedDeadLetterQueue', 'Arn'] },
        },
      },
    ],
  ])('%s', (_what, trigger, expected) => {
    expect(serverlessEvent(trigger, 'fn')).toEqual(expected);
  });

  it("gives a rule's function Lambda's retries of a failing invocation, ending in the same dead-letter queue, and lets only that rule send to the queue", () => {
    const declaration = FUNCTIONS.find((fn) => fn.trigger.type === 'eventBridge');
    if (declaration?.trigger.type !== 'eventBridge') throw new Error('no rule-triggered function');
    const { trigger } = declaration;
    expect(serverlessFunction(declaration)).toMatchObject({
      maximumRetryAttempts: trigger.functionErrorRetries.maximumRetryAttempts,
      maximumEventAge: trigger.functionErrorRetries.maximumEventAgeSeconds,
      destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': [trigger.deadLetterQueue, 'Arn'] } } },
    });
    const policies = ruleDeadLetterQueuePolicies(FUNCTIONS);
    expect(Object.keys(policies)).toEqual([`${trigger.deadLetterQueue}Policy`]);
    expect(JSON.stringify(policies)).toContain(`:rule/\${self:service}-\${sls:stage}-${declaration.name}`);
    // No other trigger gets an event invoke configuration.
    for (const fn of FUNCTIONS.filter((candidate) => candidate.trigger.type !== 'eventBridge')) {
      expect(serverlessFunction(fn)).not.toHaveProperty('destinations');
    }
  });
});

describe('serverless.ts', () => {
  const names = FUNCTIONS.map((fn) => fn.name);
  const resources = service.resources[1] as {
    Resources: Record<string, { Properties: Record<string, unknown> }>;
  };

  it('has one function entry and one role per declaration, and the shared resources from infra/resources.yml', () => {
    expect(Object.keys(service.functions)).toEqual(names);
    for (const fn of FUNCTIONS) {
      expect(service.functions[fn.name]).toEqual(serverlessFunction(fn));
      expect(resources.Resources[roleLogicalId(fn.name)]).toEqual(functionRole(fn));
    }
    expect(service.resources[0]).toBe(`\${file(./infra/resources.yml)}`);
    expect(roleLogicalId('schedule-sync')).toBe('ScheduleSyncRole');
    expect(lambdaLogicalId('schedule-sync')).toBe('ScheduleDashsyncLambdaFunction');
  });

  it("gives each role its own log group first, then exactly its declaration's statements", () => {
    const role = functionRole(FUNCTIONS[0]).Properties.Policies as {
      PolicyName: string;
      PolicyDocument: { Statement: { Sid: string; Resource: unknown }[] };
    }[];
    const [policy] = role;
    expect(policy?.PolicyName).toBe(FUNCTIONS[0].name);
    expect(policy?.PolicyDocument.Statement.map((statement) => statement.Sid)).toEqual([
      'Logs',
      ...FUNCTIONS[0].iam.map((statement) => statement.sid),
    ]);
    expect(JSON.stringify(policy?.PolicyDocument.Statement[0]?.Resource)).toContain(
      `/aws/lambda/\${self:service}-\${sls:stage}-${FUNCTIONS[0].name}:*`,
    );
  });

  it('watches every declared function in the throttles alarm and on the dashboard', () => {
    const alarm = lambdaThrottlesAlarm(FUNCTIONS).Properties.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Dimensions: { Value: { Ref: string } }[] } };
    }[];
    expect(
      alarm.flatMap((metric) => metric.MetricStat?.Metric.Dimensions.map((d) => d.Value.Ref) ?? []),
    ).toEqual(names.map(lambdaLogicalId));
    const [total] = alarm;
    for (const metric of alarm.slice(1)) expect(total?.Expression).toContain(`FILL(${metric.Id}, 0)`);
    const body = (dashboard(FUNCTIONS).Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
    for (const name of names) expect(body).toContain(`"\${${lambdaLogicalId(name)}}"`);
  });
});
