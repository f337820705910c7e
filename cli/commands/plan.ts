import type { Command } from 'commander';
import type { Policy } from '../../shared/policy';
import { buildReport } from '../../shared/report/data';
import { renderPlanMarkdown } from '../../shared/report/markdown';
import { type Plan, planTenant } from '../../shared/sync/plan';
import { CliError, EXIT_INVALID, noPolicyError } from '../errors';
import { positiveNumberOption } from '../options';
import { printJson } from '../output';
import { readPolicyFile, tenantIdArgument } from '../policy-file';
import { progressOnTerminal } from '../progress';
import { countingDirectory, lastScanEstimate, scanForReport } from '../scan';
import { formatTable } from '../table';
import { withRuntime } from '../with-runtime';

interface PlanOptions {
  readonly tenant?: string;
  readonly policy?: string;
  readonly json?: boolean;
  readonly format?: string;
  readonly quotaScale?: string;
}

const FORMATS = ['text', 'json', 'markdown'] as const;
type Format = (typeof FORMATS)[number];

export function register(program: Command): void {
  program
    .command('plan')
    .description("show what a sync would change for a tenant, from Chime's current state; writes nothing")
    .option('--tenant <tenantId>', 'the tenant (defaults to the tenantId of --policy)')
    .option('--policy <file>', 'preview an unsaved policy document instead of the stored one')
    .option('--quota-scale <k>', 'multiply the Chime quotas the client respects (match the emulator)')
    .option('--format <format>', 'text (default), json, or markdown (a summary for a pull-request comment)')
    .option('--json', 'print one JSON object with summary and changes (same as --format json)')
    .action(async (options: PlanOptions) => {
      const format = formatOption(options);
      const quotaScale =
        options.quotaScale === undefined
          ? undefined
          : positiveNumberOption('--quota-scale', options.quotaScale);
      const tenantId =
        options.tenant === undefined ? undefined : tenantIdArgument(options.tenant, '--tenant');
      const unsaved = await unsavedPolicy(options.policy, tenantId);
      if (tenantId === undefined && unsaved === undefined) {
        throw new CliError('--tenant: required (or give --policy <file>)', EXIT_INVALID);
      }
      const now = Date.now();
      const { plan, users, policy } = await withRuntime(
        async (runtime) => {
          const policy = unsaved ?? (await storedPolicy(runtime, tenantId as string));
          const estimate = await lastScanEstimate(runtime, policy.tenantId);
          const progress = progressOnTerminal(`plan ${policy.tenantId}`, {
            json: format !== 'text',
            estimate,
          });
          if (format === 'markdown')
            return { ...(await scanForReport(runtime, policy, now, progress)), policy };
          // Text and JSON need no per-user expiries: only the plan's own Chime calls are made.
          try {
            const plan = await planTenant(
              policy,
              countingDirectory(runtime.chimeUsers, progress.update),
              now,
            );
            return { plan, users: [], policy };
          } finally {
            progress.done();
          }
        },
        quotaScale === undefined ? {} : { quotaScale },
      );
      if (format === 'json') printJson(plan);
      else if (format === 'markdown')
        process.stdout.write(renderPlanMarkdown(buildReport(policy, plan, users, now)));
      else printPlan(plan);
    });
}

function formatOption(options: PlanOptions): Format {
  if (options.json) {
    if (options.format !== undefined && options.format !== 'json') {
      throw new CliError(
        `--json and --format ${options.format} contradict each other; give one`,
        EXIT_INVALID,
      );
    }
    return 'json';
  }
  const format = options.format ?? 'text';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new CliError(
      `--format: must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
      EXIT_INVALID,
    );
  }
  return format as Format;
}

/** The document given with --policy, validated; it must be for --tenant when both are given. */
export async function unsavedPolicy(
  file: string | undefined,
  tenantId: string | undefined,
): Promise<Policy | undefined> {
  if (file === undefined) return undefined;
  const read = await readPolicyFile(file);
  if (!read.ok)
    throw new CliError(`${file} is not a valid policy:\n  ${read.problems.join('\n  ')}`, EXIT_INVALID);
  if (tenantId !== undefined && read.policy.tenantId !== tenantId) {
    throw new CliError(
      `--policy: the document is for tenant "${read.policy.tenantId}", not "${tenantId}"`,
      EXIT_INVALID,
    );
  }
  return read.policy;
}

export async function storedPolicy(
  runtime: { policyStore: { get(tenantId: string): Promise<{ policy: Policy } | null> } },
  tenantId: string,
): Promise<Policy> {
  const stored = await runtime.policyStore.get(tenantId);
  if (!stored) throw noPolicyError(tenantId);
  return stored.policy;
}

function printPlan(plan: Plan): void {
  const { summary } = plan;
  console.log(`plan for tenant ${plan.tenantId} (${plan.appInstanceArn}) at ${plan.generatedAt}`);
  console.log('');
  console.log(
    formatTable(
      ['USERS', 'UNCHANGED', 'SET', 'REMOVE', 'SHORTENING', 'RESCUES', 'UNMANAGED', 'GONE'],
      [
        [
          summary.users,
          summary.unchanged,
          summary.set,
          summary.remove,
          summary.shortening,
          summary.rescues,
          summary.unmanaged,
          summary.gone,
        ].map(String),
      ],
      { rightAlign: [0, 1, 2, 3, 4, 5, 6, 7], indent: '  ' },
    ),
  );
  console.log('');
  console.log(
    summary.safety.wouldHold
      ? `safety: a sync would HOLD the ${summary.shortening} shortening change(s): ${summary.safety.reasons.join('; ')}`
      : 'safety: within the caps; a sync would apply every change',
  );
  if (plan.changes.length === 0) {
    console.log('no changes');
    return;
  }
  console.log('');
  console.log(
    formatTable(
      ['USER', 'CURRENT', 'DESIRED', 'RULE', 'FLAGS', 'REASON'],
      plan.changes.map((change) => [
        change.appInstanceUserId,
        change.currentDays === null ? 'none' : `${change.currentDays}d`,
        change.desiredDays === null ? 'none' : `${change.desiredDays}d`,
        change.ruleId ?? change.source,
        [change.shortens ? 'SHORTENS' : '', change.rescue ? 'RESCUE' : ''].filter(Boolean).join(' ') || '-',
        change.reason,
      ]),
      { rightAlign: [1, 2] },
    ),
  );
}
