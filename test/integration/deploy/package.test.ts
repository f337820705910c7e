import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import queues from '../../../infra/queues.json' with { type: 'json' };
import tables from '../../../infra/tables.json' with { type: 'json' };
import { ENV, loadConfig } from '../../../shared/config';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../../shared/observability';
import { createWorkDir, offlineEnv, run, SERVERLESS_BIN, type WorkDir } from './workdir';
import { readZip } from './zip';

/**
 * `serverless package` (osls, offline: dummy credentials, an empty HOME, no network) and checks on the
 * CloudFormation it generates and the bundles it builds. It runs in a temporary copy of the deployable
 * sources (node_modules linked), so its .serverless/.esbuild never meet those of another run.
 */

const STAGE = 'test';
const PREFIX = `chime-lifecycle-${STAGE}`;
const FUNCTIONS = ['schedule-sync', 'reconcile-tenant', 'onboard-users', 'policy-changed'] as const;
type FunctionKey = (typeof FUNCTIONS)[number];

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
}
interface Template {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs: Record<string, { readonly Value: unknown; readonly Description?: string }>;
}
interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

let work: WorkDir;
let workDir: string;
let template: Template;
let packageLog = '';

beforeAll(async () => {
  work = createWorkDir();
  workDir = work.path;
  packageLog = await run(
    process.execPath,
    [SERVERLESS_BIN, 'package', '--stage', STAGE, '--region', 'us-east-1'],
    workDir,
    offlineEnv(work.home),
  );
  template = JSON.parse(
    readFileSync(join(workDir, '.serverless/cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
}, 180_000);

afterAll(() => {
  work?.remove();
});

// ---------------------------------------------------------------------------------------------------------
// Template helpers
// ---------------------------------------------------------------------------------------------------------

function resourcesOfType(type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function resource(logicalId: string): CfnResource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId}`);
  return found;
}

/** `{ "Fn::GetAtt": [id, attribute] }` → `id.attribute`; anything else → undefined. */
function getAtt(value: unknown): string | undefined {
  const args = (value as { 'Fn::GetAtt'?: unknown } | null)?.['Fn::GetAtt'];
  return Array.isArray(args) ? `${args[0]}.${args[1]}` : undefined;
}

function ref(value: unknown): string | undefined {
  const target = (value as { Ref?: unknown } | null)?.Ref;
  return typeof target === 'string' ? target : undefined;
}

function lambda(key: FunctionKey): [string, CfnResource] {
  const found = resourcesOfType('AWS::Lambda::Function').find(
    ([, fn]) => fn.Properties.FunctionName === `${PREFIX}-${key}`,
  );
  if (!found) throw new Error(`no function ${key}`);
  return found;
}

function environmentOf(key: FunctionKey): Record<string, string> {
  return (lambda(key)[1].Properties.Environment as { Variables: Record<string, string> }).Variables;
}

function statementsOf(key: FunctionKey): Statement[] {
  const roleId = getAtt(lambda(key)[1].Properties.Role)?.replace(/\.Arn$/, '');
  if (!roleId) throw new Error(`${key} has no role of its own`);
  const policies = resource(roleId).Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** CloudFormation `Fn::Sub` placeholders, not template literals. */
const CHIME_APP_INSTANCE = `arn:\${AWS::Partition}:chime:\${AWS::Region}:\${AWS::AccountId}:app-instance/*`;
const CHIME_APP_INSTANCE_USER = `${CHIME_APP_INSTANCE}/user/*`;

/** A statement resource as a short name: `Table.Arn`, `chime:app-instance(-user)`, `own-log-group`. */
function resourceName(key: FunctionKey, value: unknown): string {
  const attribute = getAtt(value);
  if (attribute) return attribute;
  const sub = (value as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
  if (sub === CHIME_APP_INSTANCE) return 'chime:app-instance';
  if (sub === CHIME_APP_INSTANCE_USER) return 'chime:app-instance-user';
  if (
    sub ===
    `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${PREFIX}-${key}:*`
  ) {
    return 'own-log-group';
  }
  return `UNEXPECTED ${JSON.stringify(value)}`;
}

/** action → sorted resource names, over all of a function's statements. */
function grantsOf(key: FunctionKey): Record<string, string[]> {
  const grants: Record<string, Set<string>> = {};
  for (const statement of statementsOf(key)) {
    expect(statement.Effect).toBe('Allow');
    for (const action of asList(statement.Action)) {
      grants[action] ??= new Set();
      for (const target of asList(statement.Resource)) grants[action].add(resourceName(key, target));
    }
  }
  return Object.fromEntries(Object.entries(grants).map(([action, targets]) => [action, [...targets].sort()]));
}

function expectedGrants(...rules: [actions: string[], resources: string[]][]): Record<string, string[]> {
  const grants: Record<string, Set<string>> = {
    'logs:CreateLogStream': new Set(['own-log-group']),
    'logs:PutLogEvents': new Set(['own-log-group']),
  };
  for (const [actions, targets] of rules) {
    for (const action of actions) {
      grants[action] ??= new Set();
      for (const target of targets) grants[action].add(target);
    }
  }
  return Object.fromEntries(Object.entries(grants).map(([action, targets]) => [action, [...targets].sort()]));
}

const CHIME = ['chime:app-instance', 'chime:app-instance-user'];
const QUEUE_CONSUMER = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueAttributes',
];

/** What each function's code calls (shared/aws/*, shared/chime/users.ts, Powertools), on what. */
const EXPECTED_GRANTS: Record<FunctionKey, Record<string, string[]>> = {
  'schedule-sync': expectedGrants(
    [['dynamodb:Scan'], ['PolicyTable.Arn']],
    [['dynamodb:GetItem'], ['StateTable.Arn']],
    [['sqs:SendMessage', 'sqs:GetQueueUrl'], ['ReconcileQueue.Arn']],
  ),
  'policy-changed': expectedGrants(
    [
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
      ['PolicyTable.StreamArn'],
    ],
    [['sqs:SendMessage', 'sqs:GetQueueUrl'], ['ReconcileQueue.Arn']],
    [['sqs:SendMessage'], ['PolicyStreamFailureQueue.Arn']],
  ),
  'reconcile-tenant': expectedGrants(
    [['dynamodb:GetItem'], ['PolicyTable.Arn']],
    [
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      ],
      ['StateTable.Arn'],
    ],
    [[...QUEUE_CONSUMER, 'sqs:SendMessage', 'sqs:GetQueueUrl'], ['ReconcileQueue.Arn']],
    [['sqs:SendMessage', 'sqs:GetQueueUrl'], ['ReconcileDeadLetterQueue.Arn']],
    [['events:PutEvents'], ['EventBus.Arn']],
    [
      [
        'chime:ListAppInstanceUsers',
        'chime:DescribeAppInstanceUser',
        'chime:PutAppInstanceUserExpirationSettings',
      ],
      CHIME,
    ],
  ),
  'onboard-users': expectedGrants(
    [['dynamodb:GetItem'], ['PolicyTable.Arn']],
    [['dynamodb:BatchWriteItem'], ['StateTable.Arn']],
    [
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      ['IdempotencyTable.Arn'],
    ],
    [[...QUEUE_CONSUMER, 'sqs:GetQueueUrl'], ['OnboardingQueue.Arn']],
    [['sqs:SendMessage', 'sqs:GetQueueUrl'], ['OnboardingDeadLetterQueue.Arn']],
    [['events:PutEvents'], ['EventBus.Arn']],
    [
      [
        'chime:CreateAppInstanceUser',
        'chime:DescribeAppInstanceUser',
        'chime:UpdateAppInstanceUser',
        'chime:PutAppInstanceUserExpirationSettings',
        'chime:TagResource',
      ],
      CHIME,
    ],
  ),
};

/** Every DLQ: the redrive targets of the work queues and the stream mapping's on-failure destination. */
function deadLetterQueues(): string[] {
  const fromRedrive = resourcesOfType('AWS::SQS::Queue').flatMap(([, queue]) => {
    const redrive = queue.Properties.RedrivePolicy as { deadLetterTargetArn: unknown } | undefined;
    return redrive ? [getAtt(redrive.deadLetterTargetArn)?.replace(/\.Arn$/, '') ?? 'UNRESOLVED'] : [];
  });
  const fromDestinations = resourcesOfType('AWS::Lambda::EventSourceMapping').flatMap(([, mapping]) => {
    const destination = (mapping.Properties.DestinationConfig as { OnFailure?: { Destination: unknown } })
      ?.OnFailure?.Destination;
    return destination ? [getAtt(destination)?.replace(/\.Arn$/, '') ?? 'UNRESOLVED'] : [];
  });
  return [...fromRedrive, ...fromDestinations].sort();
}

function mappingOf(key: FunctionKey): CfnResource {
  const [functionId] = lambda(key);
  const found = resourcesOfType('AWS::Lambda::EventSourceMapping').find(
    ([, mapping]) => getAtt(mapping.Properties.FunctionName) === `${functionId}.Arn`,
  );
  if (!found) throw new Error(`no event source mapping for ${key}`);
  return found[1];
}

// ---------------------------------------------------------------------------------------------------------

describe('serverless package (offline)', () => {
  it('packages every function for nodejs22.x, each as its own bundle that loads and exports a handler', async () => {
    expect(packageLog).toMatch(/Service packaged/);
    const loaded: Record<string, string> = {};
    for (const key of FUNCTIONS) {
      const [, fn] = lambda(key);
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Handler).toBe(`functions/${key}/handler.handler`);
      // Unpack the artifact that would be uploaded and load it as Lambda would (CommonJS .cjs, whatever
      // the project's "type": "module" says).
      const files = readZip(join(workDir, '.serverless', `${key}.zip`));
      const bundle = `functions/${key}/handler.cjs`;
      expect([...files.keys()].sort()).toEqual([bundle, `${bundle}.map`]);
      const unpacked = join(workDir, 'unpacked', key);
      for (const [name, data] of files) {
        mkdirSync(dirname(join(unpacked, name)), { recursive: true });
        writeFileSync(join(unpacked, name), data);
      }
      // A child process: the bundles build clients and loggers at load time, which this process does not need.
      loaded[key] = (
        await run(
          process.execPath,
          ['-e', `process.stdout.write(typeof require(${JSON.stringify(join(unpacked, bundle))}).handler)`],
          workDir,
          offlineEnv(work.home),
        )
      ).trim();
    }
    expect(loaded).toEqual(Object.fromEntries(FUNCTIONS.map((key) => [key, 'function'])));
  });

  it('sets every shared/config.ts variable on every function, naming the stack resources', () => {
    const tableName = (id: string) => resource(id).Properties.TableName;
    const queueName = (id: string) => resource(id).Properties.QueueName;
    for (const key of FUNCTIONS) {
      const env = environmentOf(key);
      // AWS_REGION is reserved: Lambda sets it.
      for (const name of Object.values(ENV).filter((name) => name !== 'AWS_REGION')) {
        expect(env, `${key}: ${name}`).toHaveProperty(name);
      }
      expect(env[ENV.policyTable]).toBe(tableName('PolicyTable'));
      expect(env[ENV.stateTable]).toBe(tableName('StateTable'));
      expect(env[ENV.idempotencyTable]).toBe(tableName('IdempotencyTable'));
      expect(env[ENV.onboardingQueue]).toBe(queueName('OnboardingQueue'));
      expect(env[ENV.onboardingDeadLetterQueue]).toBe(queueName('OnboardingDeadLetterQueue'));
      expect(env[ENV.reconcileQueue]).toBe(queueName('ReconcileQueue'));
      expect(env[ENV.reconcileDeadLetterQueue]).toBe(queueName('ReconcileDeadLetterQueue'));
      expect(env[ENV.eventBus]).toBe(resource('EventBus').Properties.Name);
      expect(env.POWERTOOLS_SERVICE_NAME).toBe(SERVICE_NAME);
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);
      expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
      // The values are ones the code accepts.
      expect(() => loadConfig({ ...env, AWS_REGION: 'us-east-1' })).not.toThrow();
    }
    expect(tableName('PolicyTable')).toBe(`${PREFIX}-policies`);
    expect(queueName('ReconcileQueue')).toBe(`${PREFIX}-reconcile`);
  });

  it('keeps the fallback Chime quota shares (used while the quota leases cannot be read) at most 1 in sum', () => {
    const share = (key: FunctionKey) =>
      loadConfig({ ...environmentOf(key), AWS_REGION: 'us-east-1' }).quotaFallbackShare *
      (mappingOf(key).Properties.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency;
    expect(share('reconcile-tenant') + share('onboard-users')).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('gives every function a role of its own, with only the actions its code calls on only its resources', () => {
    expect(template.Resources).not.toHaveProperty('IamRoleLambdaExecution');
    const roles = FUNCTIONS.map((key) => getAtt(lambda(key)[1].Properties.Role));
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    for (const key of FUNCTIONS) {
      const roleId = roles[FUNCTIONS.indexOf(key)]?.replace(/\.Arn$/, '') ?? '';
      expect(resource(roleId).Type).toBe('AWS::IAM::Role');
      expect(resource(roleId).Properties).not.toHaveProperty('ManagedPolicyArns');
      for (const statement of statementsOf(key)) {
        for (const action of asList(statement.Action)) {
          expect(action, `${key}: wildcard action`).not.toMatch(/\*/);
          if (/^(chime|dynamodb|sqs|events):/.test(action)) {
            for (const target of asList(statement.Resource)) {
              expect(target, `${key}: ${action} on "*"`).not.toBe('*');
            }
          }
        }
      }
      expect(grantsOf(key), key).toEqual(EXPECTED_GRANTS[key]);
    }
  });

  it('lets onboarding set expirations and tags on create (CreateAppInstanceUser needs both)', () => {
    const grants = grantsOf('onboard-users');
    expect(grants['chime:CreateAppInstanceUser']).toEqual(CHIME);
    expect(grants['chime:PutAppInstanceUserExpirationSettings']).toEqual(CHIME);
    expect(grants['chime:TagResource']).toEqual(CHIME);
    expect(grants).not.toHaveProperty('cloudwatch:PutMetricData');
  });

  it('creates the tables from infra/tables.json, with the stream, TTLs and point-in-time recovery', () => {
    for (const [id, definition] of Object.entries(tables)) {
      const table = resource(id).Properties;
      expect(table.KeySchema, id).toEqual(definition.KeySchema);
      expect(table.AttributeDefinitions, id).toEqual(definition.AttributeDefinitions);
      expect(table.BillingMode, id).toBe(definition.BillingMode);
      expect(table.PointInTimeRecoverySpecification, id).toEqual({ PointInTimeRecoveryEnabled: true });
      if ('TimeToLiveSpecification' in definition) {
        expect(table.TimeToLiveSpecification, id).toEqual(definition.TimeToLiveSpecification);
      }
    }
    expect(resource('StateTable').Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
    expect(resource('IdempotencyTable').Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiration',
      Enabled: true,
    });
    expect(resource('PolicyTable').Properties.StreamSpecification).toEqual({
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    // A throwaway stage's tables go with the stack (prod retains them: see serverless.yml params).
    expect(resource('PolicyTable').DeletionPolicy).toBe('Delete');
  });

  it('gives every work queue a DLQ with the receive count and visibility timeout of infra/queues.json', () => {
    const byId = { OnboardingQueue: queues.OnboardingQueue, ReconcileQueue: queues.ReconcileQueue };
    for (const [id, definition] of Object.entries(byId)) {
      const queue = resource(id).Properties;
      expect(queue.VisibilityTimeout, id).toBe(definition.VisibilityTimeout);
      expect(queue.MessageRetentionPeriod, id).toBe(definition.MessageRetentionPeriod);
      const redrive = queue.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
      expect(redrive.maxReceiveCount, id).toBe(definition.maxReceiveCount);
      expect(resource(getAtt(redrive.deadLetterTargetArn)?.replace(/\.Arn$/, '') ?? '').Type).toBe(
        'AWS::SQS::Queue',
      );
    }
    // Every queue is either a work queue with a redrive policy or itself a dead-letter queue.
    const dlqs = new Set(deadLetterQueues());
    for (const [id, queue] of resourcesOfType('AWS::SQS::Queue')) {
      expect(Boolean(queue.Properties.RedrivePolicy) || dlqs.has(id), `${id} has no DLQ`).toBe(true);
    }
  });

  it('consumes the queues with partial batch responses, capped concurrency and timeouts the queues cover', () => {
    const cases = [
      { key: 'reconcile-tenant', queue: 'ReconcileQueue', batchSize: 1 },
      { key: 'onboard-users', queue: 'OnboardingQueue', batchSize: 10 },
    ] as const;
    for (const { key, queue, batchSize } of cases) {
      const mapping = mappingOf(key).Properties;
      expect(getAtt(mapping.EventSourceArn)).toBe(`${queue}.Arn`);
      expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.BatchSize).toBe(batchSize);
      expect(
        (mapping.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency,
      ).toBeGreaterThanOrEqual(2);
      const timeout = lambda(key)[1].Properties.Timeout as number;
      expect(resource(queue).Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(timeout);
    }
    expect(lambda('reconcile-tenant')[1].Properties.Timeout).toBe(900);
    expect(lambda('onboard-users')[1].Properties.Timeout as number).toBeLessThanOrEqual(60);
  });

  it('triggers policy-changed from the policy table stream, with retries bounded and failures kept', () => {
    const mapping = mappingOf('policy-changed').Properties;
    expect(getAtt(mapping.EventSourceArn)).toBe('PolicyTable.StreamArn');
    expect(mapping.StartingPosition).toBe('LATEST');
    expect(mapping.BisectBatchOnFunctionError).toBe(true);
    expect(mapping.MaximumRetryAttempts as number).toBeGreaterThan(0);
    expect(
      getAtt((mapping.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure.Destination),
    ).toBe('PolicyStreamFailureQueue.Arn');
  });

  it('schedules schedule-sync at rate(1 hour) by default', () => {
    const [functionId] = lambda('schedule-sync');
    const rules = resourcesOfType('AWS::Events::Rule').filter(([, rule]) =>
      (rule.Properties.Targets as { Arn: unknown }[]).some(
        (target) => getAtt(target.Arn) === `${functionId}.Arn`,
      ),
    );
    expect(rules.map(([, rule]) => rule.Properties.ScheduleExpression)).toEqual(['rate(1 hour)']);
    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(
      ([, permission]) => getAtt(permission.Properties.FunctionName) === `${functionId}.Arn`,
    );
    expect(permissions.map(([, permission]) => permission.Properties.Principal)).toEqual([
      'events.amazonaws.com',
    ]);
  });

  it('alarms on every DLQ and on throttling (Chime 429s and Lambda throttles)', () => {
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    for (const dlq of deadLetterQueues()) {
      const alarm = alarms.find(
        (candidate) =>
          candidate.Namespace === 'AWS/SQS' &&
          candidate.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          (candidate.Dimensions as { Name: string; Value: unknown }[]).some(
            (dimension) => dimension.Name === 'QueueName' && getAtt(dimension.Value) === `${dlq}.QueueName`,
          ),
      );
      expect(alarm, `no alarm on ${dlq}`).toBeDefined();
      expect(alarm?.Threshold).toBe(0);
      expect(alarm?.ComparisonOperator).toBe('GreaterThanThreshold');
    }

    interface MetricStat {
      readonly Metric: {
        Namespace: string;
        MetricName: string;
        Dimensions: { Name: string; Value: unknown }[];
      };
    }
    const stats = alarms.flatMap((alarm) =>
      ((alarm.Metrics as { MetricStat?: MetricStat }[] | undefined) ?? []).flatMap((metric) =>
        metric.MetricStat ? [metric.MetricStat.Metric] : [],
      ),
    );
    // ChimeThrottled as Powertools publishes it: namespace ChimeLifecycle, dimensions service + function.
    for (const key of ['reconcile-tenant', 'onboard-users']) {
      expect(
        stats.some(
          (metric) =>
            metric.Namespace === METRICS_NAMESPACE &&
            metric.MetricName === 'ChimeThrottled' &&
            JSON.stringify(metric.Dimensions) ===
              JSON.stringify([
                { Name: 'service', Value: SERVICE_NAME },
                { Name: 'function', Value: key },
              ]),
        ),
        `ChimeThrottled of ${key}`,
      ).toBe(true);
    }
    for (const key of FUNCTIONS) {
      const [functionId] = lambda(key);
      expect(
        stats.some(
          (metric) =>
            metric.Namespace === 'AWS/Lambda' &&
            metric.MetricName === 'Throttles' &&
            metric.Dimensions.some((dimension) => ref(dimension.Value) === functionId),
        ),
        `Lambda Throttles of ${key}`,
      ).toBe(true);
    }
  });

  it('outputs the table names, queue URLs and bus name under the variable the CLI reads them from', () => {
    const outputs = Object.values(template.Outputs);
    const expected: [string, string][] = [
      [ENV.policyTable, 'PolicyTable'],
      [ENV.stateTable, 'StateTable'],
      [ENV.idempotencyTable, 'IdempotencyTable'],
      [ENV.onboardingQueue, 'OnboardingQueue'],
      [ENV.onboardingDeadLetterQueue, 'OnboardingDeadLetterQueue'],
      [ENV.reconcileQueue, 'ReconcileQueue'],
      [ENV.reconcileDeadLetterQueue, 'ReconcileDeadLetterQueue'],
      [ENV.eventBus, 'EventBus'],
    ];
    for (const [variable, logicalId] of expected) {
      const output = outputs.find((candidate) => candidate.Description === variable);
      expect(output, variable).toBeDefined();
      expect(ref(output?.Value), variable).toBe(logicalId);
    }
  });
});
