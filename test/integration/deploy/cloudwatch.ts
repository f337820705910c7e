import { specification } from '@aws-cdk/cfnspec';
import { type CfnResource, getAtt, PSEUDO, resource, type Template } from './iam';

/**
 * The metrics that a packaged template's alarms and dashboard watch, read from the template, and a check of
 * the CloudWatch resources against the CloudFormation resource specification (`@aws-cdk/cfnspec`).
 */

export interface MetricRef {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name → value, with template references resolved to the resource's physical name. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Which alarm or widget watches it, for failure messages. */
  readonly where: string;
}

/** A `Ref` or `Fn::GetAtt` of a dimension value, as the physical name it stands for. */
function physicalName(template: Template, value: unknown): string {
  if (typeof value === 'string') return value;
  const target = (value as { Ref?: unknown } | null)?.Ref;
  const attribute = getAtt(value);
  if (typeof target === 'string') return nameOf(template, target, 'Ref');
  if (attribute) {
    const [logicalId = '', name = ''] = attribute.split('.');
    return nameOf(template, logicalId, name);
  }
  throw new Error(`a dimension value the test cannot read: ${JSON.stringify(value)}`);
}

/** What Ref / GetAtt give for the resource types a metric dimension names. */
function nameOf(template: Template, logicalId: string, attribute: string): string {
  const target = resource(template, logicalId);
  if (target.Type === 'AWS::Lambda::Function' && attribute === 'Ref') {
    return String(target.Properties.FunctionName);
  }
  if (target.Type === 'AWS::SQS::Queue' && attribute === 'QueueName')
    return String(target.Properties.QueueName);
  throw new Error(`no physical name known for ${logicalId}.${attribute} (${target.Type})`);
}

interface AlarmMetric {
  readonly Namespace: string;
  readonly MetricName: string;
  readonly Dimensions?: { Name: string; Value: unknown }[];
}

export function metricsOfAlarm(template: Template, id: string, alarm: CfnResource): MetricRef[] {
  const toRef = (metric: AlarmMetric, where: string): MetricRef => ({
    namespace: metric.Namespace,
    name: metric.MetricName,
    dimensions: Object.fromEntries(
      (metric.Dimensions ?? []).map((dimension) => [dimension.Name, physicalName(template, dimension.Value)]),
    ),
    where,
  });
  const properties = alarm.Properties;
  if (typeof properties.MetricName === 'string') return [toRef(properties as unknown as AlarmMetric, id)];
  const queries = (properties.Metrics ?? []) as { Id: string; MetricStat?: { Metric: AlarmMetric } }[];
  return queries.flatMap((query) =>
    query.MetricStat ? [toRef(query.MetricStat.Metric, `${id}.${query.Id}`)] : [],
  );
}

export interface DashboardBody {
  readonly widgets: readonly {
    readonly type: string;
    readonly properties: { readonly title?: string; readonly metrics?: readonly unknown[][] };
  }[];
}

/** The dashboard body with its `Fn::Sub` placeholders resolved, parsed. */
export function dashboardBody(template: Template, dashboard: CfnResource): DashboardBody {
  const body = dashboard.Properties.DashboardBody;
  const sub = (body as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
  const text =
    typeof body === 'string'
      ? body
      : typeof sub === 'string'
        ? sub.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name === 'AWS::Region') return PSEUDO.region;
            if (name === 'AWS::AccountId') return PSEUDO.account;
            if (name === 'AWS::Partition') return PSEUDO.partition;
            const [logicalId = '', attribute = 'Ref'] = name.split('.');
            return nameOf(template, logicalId, attribute);
          })
        : undefined;
  if (text === undefined) throw new Error('DashboardBody is neither a string nor an Fn::Sub of one');
  return JSON.parse(text) as DashboardBody;
}

/**
 * The metrics of a dashboard's metric widgets. Each row is `[Namespace, MetricName, (DimensionName,
 * DimensionValue)*, options?]` or `[{ expression }]` (CloudWatch "Dashboard body structure and syntax").
 * Expressions are checked to use only ids the widget defines.
 */
export function metricsOfDashboard(body: DashboardBody): { metrics: MetricRef[]; problems: string[] } {
  const metrics: MetricRef[] = [];
  const problems: string[] = [];
  for (const [index, widget] of body.widgets.entries()) {
    if (widget.type !== 'metric') continue;
    const where = `widget ${index} "${widget.properties.title ?? ''}"`;
    const ids = new Set<string>();
    const expressions: string[] = [];
    for (const row of widget.properties.metrics ?? []) {
      const last = row[row.length - 1];
      const options =
        typeof last === 'object' && last !== null ? (last as Record<string, unknown>) : undefined;
      if (typeof options?.id === 'string') ids.add(options.id);
      if (typeof options?.expression === 'string') {
        expressions.push(options.expression);
        continue;
      }
      const parts = options ? row.slice(0, -1) : row;
      if (parts.length < 2 || parts.length % 2 !== 0 || parts.some((part) => typeof part !== 'string')) {
        problems.push(`${where}: a metric row that is not [namespace, name, (dimension, value)*, options?]`);
        continue;
      }
      const [namespace, name, ...pairs] = parts as string[];
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
      metrics.push({ namespace: namespace as string, name: name as string, dimensions, where });
    }
    for (const expression of expressions) {
      const names = expression.replace(/\b[A-Z]+\(/g, '(').match(/\b[a-z]\w*\b/g) ?? [];
      for (const name of names) {
        if (!ids.has(name))
          problems.push(`${where}: expression "${expression}" uses ${name}, which no row defines`);
      }
    }
  }
  return { metrics, problems };
}

// ---------------------------------------------------------------------------------------------------------
// CloudFormation resource specification
// ---------------------------------------------------------------------------------------------------------

interface SpecProperty {
  readonly Required?: boolean;
  readonly PrimitiveType?: string;
  readonly PrimitiveItemType?: string;
  readonly Type?: string;
  readonly ItemType?: string;
}
interface SpecType {
  readonly Properties?: Record<string, SpecProperty>;
}

interface Specification {
  readonly ResourceTypes: Record<string, SpecType>;
  readonly PropertyTypes: Record<string, SpecType>;
}
/** Loaded once: the specification is an 18 MB JSON document. */
let loaded: Specification | undefined;
function loadSpecification(): Specification {
  loaded ??= specification() as unknown as Specification;
  return loaded;
}

const INTRINSICS = ['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::If', 'Fn::Join', 'Fn::Select', 'Fn::ImportValue'];

function isIntrinsic(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && INTRINSICS.includes(keys[0] as string);
}

function primitiveProblem(type: string, value: unknown): string | undefined {
  if (isIntrinsic(value)) return undefined;
  switch (type) {
    case 'String':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'Integer':
      return Number.isInteger(typeof value === 'string' ? Number(value) : value)
        ? undefined
        : 'must be an integer';
    case 'Double':
      return Number.isFinite(typeof value === 'string' ? Number(value) : value)
        ? undefined
        : 'must be a number';
    case 'Boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false'
        ? undefined
        : 'must be a boolean';
    case 'Json':
      return typeof value === 'object' && value !== null ? undefined : 'must be a JSON object';
    default:
      return undefined;
  }
}

/**
 * Problems of a resource's properties by the specification: unknown properties, missing required ones, and
 * values of the wrong shape (intrinsic functions are accepted wherever a value is). Spec version 117 (2023): properties added later
 * would be reported as unknown.
 */
export function specificationProblems(id: string, cfn: CfnResource): string[] {
  const resourceType = loadSpecification().ResourceTypes[cfn.Type];
  if (!resourceType) return [`${id}: ${cfn.Type} is not in the CloudFormation resource specification`];
  const problems: string[] = [];
  const check = (path: string, definition: SpecType, value: unknown) => {
    if (isIntrinsic(value)) return;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: must be an object`);
      return;
    }
    const properties = definition.Properties ?? {};
    for (const [name, property] of Object.entries(properties)) {
      if (property.Required && !(name in value)) problems.push(`${path}.${name}: required`);
    }
    for (const [name, member] of Object.entries(value)) {
      const property = properties[name];
      if (!property) {
        problems.push(
          `${path}.${name}: not a property of ${cfn.Type} (${Object.keys(properties).join(', ')})`,
        );
        continue;
      }
      checkValue(`${path}.${name}`, property, member);
    }
  };
  const checkValue = (path: string, property: SpecProperty, value: unknown) => {
    if (property.PrimitiveType) {
      const problem = primitiveProblem(property.PrimitiveType, value);
      if (problem) problems.push(`${path}: ${problem}`);
      return;
    }
    if (property.Type === 'List' || property.Type === 'Map') {
      if (isIntrinsic(value)) return;
      const items = property.Type === 'List' ? value : Object.values((value ?? {}) as object);
      if (!Array.isArray(items)) {
        problems.push(`${path}: must be a list`);
        return;
      }
      for (const [index, item] of items.entries()) {
        if (property.PrimitiveItemType) {
          const problem = primitiveProblem(property.PrimitiveItemType, item);
          if (problem) problems.push(`${path}[${index}]: ${problem}`);
        } else if (property.ItemType) {
          check(
            `${path}[${index}]`,
            loadSpecification().PropertyTypes[`${cfn.Type}.${property.ItemType}`] ?? {},
            item,
          );
        }
      }
      return;
    }
    if (property.Type)
      check(path, loadSpecification().PropertyTypes[`${cfn.Type}.${property.Type}`] ?? {}, value);
  };
  check(id, resourceType, cfn.Properties ?? {});
  return problems;
}
