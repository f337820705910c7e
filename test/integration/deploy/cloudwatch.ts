import { type CfnResource, getAtt, PSEUDO, resource, type Template } from './iam';

/**
 * The metrics that a packaged template's alarms and dashboard watch, read from the template (the resources
 * themselves are checked against the CloudFormation specification in cfn-spec.ts).
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
