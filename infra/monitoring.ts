import type { FunctionDeclaration } from '../functions/declaration';
import { type CfnResource, type CfnValue, lambdaLogicalId } from './functions';

/**
 * The monitoring that names every function: the Lambda throttles alarm and the dashboard (whose throttles
 * widget lists every function). Built from the declarations so that a new function is watched without an
 * edit here. The alarms on one queue or one function stay in infra/resources.yml.
 */

/** Alarms notify the stack parameter's SNS topic when one is given (infra/resources.yml, HasAlarmTopic). */
const ALARM_ACTIONS = {
  AlarmActions: { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] },
  OKActions: { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] },
};

/** A metric id of a function (`schedule-sync` → `scheduleSync`): CloudWatch ids start lower case. */
function metricId(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, next: string) => next.toUpperCase());
}

/** Lambda refused invocations (account concurrency exhausted): messages wait, the schedule may be dropped. */
export function lambdaThrottlesAlarm(declarations: readonly FunctionDeclaration[]): CfnResource {
  const ids = declarations.map((fn) => metricId(fn.name));
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: '${self:service}-${sls:stage}-lambda-throttles',
      AlarmDescription: 'Lambda throttled chime-lifecycle functions (Throttles, sum over 5 minutes)',
      Metrics: [
        {
          Id: 'total',
          Expression: ids.map((id) => `FILL(${id}, 0)`).join(' + '),
          Label: 'Throttles',
          ReturnData: true,
        },
        ...declarations.map((fn) => ({
          Id: metricId(fn.name),
          ReturnData: false,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Throttles',
              Dimensions: [{ Name: 'FunctionName', Value: { Ref: lambdaLogicalId(fn.name) } }],
            },
            Period: 300,
            Stat: 'Sum',
          },
        })),
      ],
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      ...ALARM_ACTIONS,
    },
  };
}

type Row = CfnValue[];

/** A ChimeLifecycle metric as Powertools publishes it: dimensions service and function. */
function ours(name: string, functionName: string, options?: Record<string, CfnValue>): Row {
  return [
    'ChimeLifecycle',
    name,
    'service',
    '${self:service}',
    'function',
    functionName,
    ...(options ? [options] : []),
  ];
}

function widget(
  position: { x: number; y: number },
  title: string,
  properties: Record<string, CfnValue>,
  metrics: Row[],
): CfnValue {
  return {
    type: 'metric',
    ...position,
    width: 12,
    height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', ...properties, metrics },
  };
}

const SUM = { stacked: false, stat: 'Sum', period: 300 };

/**
 * One dashboard (free up to 3 per account, then $3 per month): what the runs did, what Chime and Lambda
 * pushed back with, what waits in the DLQs and how long onboarding takes. Every ChimeLifecycle metric here is
 * one a handler emits (test/integration/deploy/package.test.ts traces them from the code). The body is an
 * Fn::Sub of JSON: `${AWS::Region}`, `${<Function>LambdaFunction}` and `${<Queue>.QueueName}` are
 * CloudFormation's.
 */
export function dashboard(declarations: readonly FunctionDeclaration[]): CfnResource {
  const widgets = [
    widget({ x: 0, y: 0 }, 'Reconcile runs: completed, held, failed', SUM, [
      ours('RunsCompleted', 'reconcile-tenant'),
      ours('RunsHeld', 'reconcile-tenant'),
      ours('RunsFailed', 'reconcile-tenant'),
    ]),
    widget({ x: 12, y: 0 }, 'Changes applied', { ...SUM, stacked: true }, [
      ours('UsersChanged', 'reconcile-tenant'),
      ours('UsersRescued', 'reconcile-tenant'),
      ours('Created', 'onboard-users'),
      ours('Converged', 'onboard-users'),
    ]),
    widget({ x: 0, y: 6 }, 'Chime calls per user', SUM, [
      [
        {
          id: 'reconcilePerUser',
          expression: 'reconcileCalls / reconcileUsers',
          label: 'reconcile-tenant (per user scanned)',
        },
      ],
      [
        {
          id: 'onboardingPerUser',
          expression: 'onboardingCalls / (FILL(onboardingCreated, 0) + FILL(onboardingConverged, 0))',
          label: 'onboard-users (per user onboarded)',
        },
      ],
      ours('ChimeCalls', 'reconcile-tenant', { id: 'reconcileCalls', visible: false }),
      ours('UsersScanned', 'reconcile-tenant', { id: 'reconcileUsers', visible: false }),
      ours('ChimeCalls', 'onboard-users', { id: 'onboardingCalls', visible: false }),
      ours('Created', 'onboard-users', { id: 'onboardingCreated', visible: false }),
      ours('Converged', 'onboard-users', { id: 'onboardingConverged', visible: false }),
    ]),
    widget({ x: 12, y: 6 }, 'Throttles: Chime 429s and Lambda throttles', SUM, [
      ours('ChimeThrottled', 'reconcile-tenant'),
      ours('ChimeThrottled', 'onboard-users'),
      ...declarations.map(
        (fn): Row => ['AWS/Lambda', 'Throttles', 'FunctionName', `\${${lambdaLogicalId(fn.name)}}`],
      ),
    ]),
    widget({ x: 0, y: 12 }, 'Dead-letter queue depths', { stacked: false, stat: 'Maximum', period: 300 }, [
      ...[
        'OnboardingDeadLetterQueue',
        'ReconcileDeadLetterQueue',
        'ActivityDeadLetterQueue',
        'PolicyStreamFailureQueue',
        'UserRemovedDeadLetterQueue',
      ].map(
        (queue): Row => [
          'AWS/SQS',
          'ApproximateNumberOfMessagesVisible',
          'QueueName',
          `\${${queue}.QueueName}`,
        ],
      ),
    ]),
    widget(
      { x: 12, y: 12 },
      'Onboarding latency (send to user created, ms) and queue age (s)',
      { stacked: false, period: 300 },
      [
        ours('OnboardingLatency', 'onboard-users', { stat: 'p50' }),
        ours('OnboardingLatency', 'onboard-users', { stat: 'p99' }),
        [
          'AWS/SQS',
          'ApproximateAgeOfOldestMessage',
          'QueueName',
          '${OnboardingQueue.QueueName}',
          { stat: 'Maximum', yAxis: 'right' },
        ],
      ],
    ),
  ];
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: '${self:service}-${sls:stage}',
      DashboardBody: { 'Fn::Sub': JSON.stringify({ start: '-PT24H', widgets }) },
    },
  };
}
