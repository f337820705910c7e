import type {
  FunctionDeclaration,
  IamResource,
  IamStatement,
  ParamRef,
  Trigger,
} from '../functions/declaration';

/**
 * The per-function parts of the service, built from the declarations (functions/<name>/function.ts): the
 * Serverless `functions:` entries (handler, timeout, environment, trigger) and one IAM role per function.
 * serverless.ts puts them into the template; nothing here is written by hand per function.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type CfnValue = Json;
export interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, Json>;
}

/** `${param:name}`: Serverless resolves it per stage (infra/params.ts, `--param`). */
function paramVariable(ref: ParamRef): string {
  return `\${param:${ref.param}}`;
}

function setting<T extends number | string>(value: T | ParamRef): T | string {
  return typeof value === 'object' ? paramVariable(value) : value;
}

/** A boolean param is the string 'true' or 'false'; strToBool makes it the boolean CloudFormation wants. */
function booleanSetting(value: boolean | ParamRef): boolean | string {
  return typeof value === 'object' ? `\${strToBool(${paramVariable(value)})}` : value;
}

const getAtt = (logicalId: string, attribute: string): Json => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** Upper camel case, as Serverless names a function's resources (`schedule-sync` → `ScheduleDashsync`). */
export function normalizedFunctionName(name: string): string {
  const normalized = name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return normalized.charAt(0).toUpperCase() + normalized.slice(1);
}

/** The logical id Serverless gives the function's AWS::Lambda::Function. */
export function lambdaLogicalId(name: string): string {
  return `${normalizedFunctionName(name)}LambdaFunction`;
}

/** The function's own role: `schedule-sync` → `ScheduleSyncRole`. */
export function roleLogicalId(name: string): string {
  return `${name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}Role`;
}

/**
 * The name of a function's EventBridge rule, given here rather than left to Serverless (which derives it from
 * the function's name and may hash it), so the rule's ARN is known to the DLQ's queue policy.
 */
export function ruleName(functionName: string): string {
  return `\${self:service}-\${sls:stage}-${functionName}`;
}

/** The Serverless event of a function's trigger. */
export function serverlessEvent(trigger: Trigger, functionName: string): Record<string, Json> {
  switch (trigger.type) {
    case 'sqs':
      return {
        sqs: {
          arn: getAtt(trigger.queue, 'Arn'),
          batchSize: setting(trigger.batchSize),
          ...(trigger.maximumBatchingWindowSeconds === undefined
            ? {}
            : { maximumBatchingWindow: setting(trigger.maximumBatchingWindowSeconds) }),
          ...(trigger.reportBatchItemFailures ? { functionResponseType: 'ReportBatchItemFailures' } : {}),
          maximumConcurrency: setting(trigger.maximumConcurrency),
        },
      };
    case 'dynamodbStream':
      return {
        stream: {
          type: 'dynamodb',
          arn: getAtt(trigger.table, 'StreamArn'),
          batchSize: trigger.batchSize,
          ...(trigger.batchWindowSeconds === undefined ? {} : { batchWindow: trigger.batchWindowSeconds }),
          startingPosition: trigger.startingPosition,
          bisectBatchOnFunctionError: trigger.bisectBatchOnFunctionError,
          maximumRetryAttempts: trigger.maximumRetryAttempts,
          maximumRecordAgeInSeconds: trigger.maximumRecordAgeSeconds,
          ...(trigger.onFailure
            ? { destinations: { onFailure: { arn: getAtt(trigger.onFailure.queue, 'Arn'), type: 'sqs' } } }
            : {}),
        },
      };
    case 'schedule':
      return { schedule: { rate: setting(trigger.rate), enabled: booleanSetting(trigger.enabled) } };
    case 'eventBridge':
      // No eventBus: the default bus, the only one CloudTrail delivers to.
      return {
        eventBridge: {
          name: ruleName(functionName),
          pattern: trigger.pattern as Json,
          retryPolicy: {
            maximumEventAge: trigger.retryPolicy.maximumEventAgeSeconds,
            maximumRetryAttempts: trigger.retryPolicy.maximumRetryAttempts,
          },
          deadLetterQueueArn: getAtt(trigger.deadLetterQueue, 'Arn'),
        },
      };
  }
}

/**
 * An EventBridge rule invokes its function asynchronously: once Lambda has taken the event, a function error
 * is retried by Lambda (the function's event invoke configuration), not by the rule, and then sent to the
 * on-failure destination: the rule's DLQ too.
 */
function asyncInvocation(trigger: Trigger): Record<string, Json> {
  if (trigger.type !== 'eventBridge') return {};
  return {
    maximumRetryAttempts: trigger.functionErrorRetries.maximumRetryAttempts,
    maximumEventAge: trigger.functionErrorRetries.maximumEventAgeSeconds,
    destinations: { onFailure: { type: 'sqs', arn: getAtt(trigger.deadLetterQueue, 'Arn') } },
  };
}

/** The Serverless `functions:` entry of a declaration. */
export function serverlessFunction(declaration: FunctionDeclaration): Record<string, Json> {
  const environment = Object.entries(declaration.environment ?? {});
  return {
    handler: `functions/${declaration.name}/handler.handler`,
    description: declaration.description,
    role: roleLogicalId(declaration.name),
    timeout: declaration.timeoutSeconds,
    ...(declaration.memoryMb === undefined ? {} : { memorySize: declaration.memoryMb }),
    ...(declaration.reservedConcurrency === undefined
      ? {}
      : { reservedConcurrency: declaration.reservedConcurrency }),
    ...(environment.length > 0
      ? { environment: Object.fromEntries(environment.map(([name, value]) => [name, setting(value)])) }
      : {}),
    ...asyncInvocation(declaration.trigger),
    events: [serverlessEvent(declaration.trigger, declaration.name)],
  };
}

/**
 * The queue policy of each rule's dead-letter queue: EventBridge sends undeliverable events with its own
 * service principal, so the queue must allow events.amazonaws.com, and only from the rules that use it
 * (aws:SourceArn), as the EventBridge user guide ("Granting permissions to the dead-letter queue") says.
 */
export function ruleDeadLetterQueuePolicies(
  declarations: readonly FunctionDeclaration[],
): Record<string, CfnResource> {
  const rulesByQueue = new Map<string, string[]>();
  for (const declaration of declarations) {
    const trigger = declaration.trigger;
    if (trigger.type !== 'eventBridge') continue;
    const rules = rulesByQueue.get(trigger.deadLetterQueue) ?? [];
    rules.push(ruleName(declaration.name));
    rulesByQueue.set(trigger.deadLetterQueue, rules);
  }
  return Object.fromEntries(
    [...rulesByQueue].map(([queue, rules]) => [
      `${queue}Policy`,
      {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: queue }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'RuleDeadLetters',
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: getAtt(queue, 'Arn'),
                Condition: {
                  ArnEquals: {
                    'aws:SourceArn': rules.map((rule) => ({
                      'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${rule}`,
                    })),
                  },
                },
              },
            ],
          },
        },
      },
    ]),
  );
}

// ---------------------------------------------------------------------------------------------------------
// IAM: one role per function, with only what its declaration grants (and its own log group)
// ---------------------------------------------------------------------------------------------------------

/** Only Lambda may assume the function roles. */
const LAMBDA_TRUST: Json = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/**
 * The Regions where Chime SDK Identity exists (its endpoints: identity-chime.<region>.amazonaws.com). One
 * deployment manages the AppInstances of both: a tenant's calls go to the Region of its AppInstance ARN.
 */
export const CHIME_REGIONS = ['us-east-1', 'eu-central-1'] as const;

/**
 * Chime SDK Identity resources of this account, in both Regions. Which AppInstance a tenant may touch is
 * decided by its policy (one AppInstance per tenant, claimed in the state table), so the roles cover the
 * account's AppInstances, never another account's (those are reached through the tenant's own role, below).
 * IAM's `*` also matches `/`, so app-instance/* covers the users of every AppInstance as well;
 * app-instance/*\/user/* is users only.
 */
const CHIME_ARNS = {
  appInstances: 'app-instance/*',
  appInstanceUsers: 'app-instance/*/user/*',
} as const;

/** The stack parameter listing the tenants' roles the functions may assume, and its "not empty" condition. */
export const TENANT_ACCESS_PARAMETER = 'TenantAccessRoleArns';
export const TENANT_ACCESS_CONDITION = 'HasTenantAccessRoles';

function iamResource(resource: IamResource): Json {
  if (resource === '*') return '*';
  if ('table' in resource) return getAtt(resource.table, 'Arn');
  if ('stream' in resource) return getAtt(resource.stream, 'StreamArn');
  if ('queue' in resource) return getAtt(resource.queue, 'Arn');
  if ('eventBus' in resource) return getAtt(resource.eventBus, 'Arn');
  if ('roles' in resource) return { Ref: resource.roles };
  return CHIME_REGIONS.map((region) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:chime:${region}:\${AWS::AccountId}:${CHIME_ARNS[resource.chime]}`,
  }));
}

function iamStatement(statement: IamStatement): Json {
  const granted = {
    Sid: statement.sid,
    Effect: 'Allow',
    Action: [...statement.actions],
    Resource: iamResource(statement.resource),
  };
  // An empty TenantAccessRoleArns grants no sts:AssumeRole at all (not a statement on an empty ARN).
  if (typeof statement.resource === 'object' && 'roles' in statement.resource) {
    return { 'Fn::If': [TENANT_ACCESS_CONDITION, granted, { Ref: 'AWS::NoValue' }] };
  }
  return granted;
}

/** Whether a function may assume the tenants' roles (it calls Chime for tenants). */
function assumesTenantRoles(declaration: FunctionDeclaration): boolean {
  return declaration.iam.some(
    (statement) => typeof statement.resource === 'object' && 'roles' in statement.resource,
  );
}

/**
 * The output a tenant's role trusts: the roles of the functions that assume tenants' roles (comma-separated,
 * for the TrustedRoleArns parameter of infra/tenant-access-role.json).
 */
export function tenantAccessOutput(declarations: readonly FunctionDeclaration[]): Record<string, Json> {
  return {
    TenantAccessTrustedRoleArns: {
      Description:
        "The roles a tenant's access role must trust (TrustedRoleArns of infra/tenant-access-role.json)",
      Value: {
        'Fn::Join': [
          ',',
          declarations.filter(assumesTenantRoles).map((fn) => getAtt(roleLogicalId(fn.name), 'Arn')),
        ],
      },
    },
  };
}

/**
 * The function's role: its logs (Lambda writes them with the function's role, to the log group Serverless
 * creates for it), then its declared statements. No managed policies; no cloudwatch:PutMetricData (Powertools
 * writes metrics as EMF log lines).
 */
export function functionRole(declaration: FunctionDeclaration): CfnResource {
  const logs: Json = {
    Sid: 'Logs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: {
      'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/\${self:service}-\${sls:stage}-${declaration.name}:*`,
    },
  };
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: LAMBDA_TRUST,
      Policies: [
        {
          PolicyName: declaration.name,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [logs, ...declaration.iam.map(iamStatement)],
          },
        },
      ],
    },
  };
}

/** Every function's Serverless entry and role, and the rules' DLQ policies, keyed as serverless.ts needs them. */
export function functionsOfService(declarations: readonly FunctionDeclaration[]): {
  functions: Record<string, Record<string, Json>>;
  roles: Record<string, CfnResource>;
  queuePolicies: Record<string, CfnResource>;
} {
  return {
    functions: Object.fromEntries(declarations.map((fn) => [fn.name, serverlessFunction(fn)])),
    roles: Object.fromEntries(declarations.map((fn) => [roleLogicalId(fn.name), functionRole(fn)])),
    queuePolicies: ruleDeadLetterQueuePolicies(declarations),
  };
}
