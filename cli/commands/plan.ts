import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Runtime } from '../../shared/composition-root';
import type { Policy } from '../../shared/policy';
import { buildReport, policySourceText, type ReportPolicySource } from '../../shared/report/data';
import { renderPlanMarkdown } from '../../shared/report/markdown';
import type { Plan } from '../../shared/sync/plan';
import { createPlanFile, MAX_PLAN_VALIDITY_MS, planSizeProblem } from '../../shared/sync/plan-file';
import { CliError, EXIT_INVALID, noPolicyError } from '../errors';
import { positiveNumberOption } from '../options';
import { printJson, printLine, printNote, quoteInput } from '../output';
import { readPolicyFile, tenantIdArgument } from '../policy-file';
import { progressOnTerminal } from '../progress';
import { lastScanEstimate, scanForReport, scanPlan } from '../scan';
import { formatTable } from '../table';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface PlanOptions {
  readonly tenant?: string;
  readonly policy?: string;
  readonly json?: boolean;
  readonly format?: string;
  readonly quotaScale?: string;
  readonly out?: string;
  readonly validFor?: string;
}

const FORMATS = ['text', 'json', 'markdown'] as const;
type Format = (typeof FORMATS)[number];

export function register(program: Command): void {
  addCommand(program, 'plan')
    .option('--tenant <tenantId>', 'the tenant (defaults to the tenantId of --policy)')
    .option('--policy <file>', 'preview an unsaved policy document instead of the stored one')
    .option('--quota-scale <k>', 'multiply the Chime quotas the client respects (match the emulator)')
    .option('--format <format>', 'text (default), json, or markdown (a summary for a pull-request comment)')
    .option('--json', 'print one JSON object with summary and changes (same as --format json)')
    .option(
      '--out <file>',
      'also write the plan to a file and issue it (its SHA-256 recorded until it expires), to apply once with `sync --apply <file>`',
    )
    .option(
      '--valid-for <duration>',
      'how long a plan written with --out may be applied (default 24h; e.g. 90m, 12h, 7d)',
    )
    .action(async (options: PlanOptions) => {
      const format = formatOption(options);
      const validForMs =
        options.validFor === undefined ? undefined : durationOption('--valid-for', options.validFor);
      if (options.out !== undefined && options.policy !== undefined) {
        throw new CliError(
          '--out: a plan file applies a stored policy version; store the policy first (`policy put`), then plan --tenant',
          EXIT_INVALID,
        );
      }
      if (validForMs !== undefined && options.out === undefined) {
        throw new CliError('--valid-for: only with --out', EXIT_INVALID);
      }
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
      const { plan, users, policy, source, issued } = await withRuntime(
        async (runtime) => {
          const stored =
            unsaved === undefined ? await storedPolicyRecord(runtime, tenantId as string) : undefined;
          const policy = unsaved ?? (stored?.policy as Policy);
          const source = policySourceOf(stored, options.policy);
          const scanned = { ...(await planWithProgress(runtime, policy, now, format)), source };
          if (options.out === undefined || stored === undefined) return { ...scanned, issued: undefined };
          // Issued: the plan's hash is recorded in the state table until it expires, and only a recorded
          // plan can be applied (once). A plan too large to apply is not issued at all.
          const tooLarge = planSizeProblem(scanned.plan.changes.length);
          if (tooLarge) throw new CliError(`--out: ${tooLarge}; no plan file written`, EXIT_INVALID);
          const file = createPlanFile(scanned.plan, stored.version, now, validForMs);
          await runtime.issuedPlans.issue({
            tenantId: file.tenantId,
            sha256: file.sha256,
            policyVersion: file.policyVersion,
            generatedAt: file.generatedAt,
            expiresAt: file.expiresAt,
            changes: file.changes.length,
          });
          return { ...scanned, issued: file };
        },
        quotaScale === undefined ? {} : { quotaScale },
      );
      if (options.out !== undefined && issued !== undefined) {
        await writeFile(options.out, `${JSON.stringify(issued, null, 2)}\n`, { mode: 0o600 });
        printNote(
          `wrote ${options.out}: ${issued.changes.length} change(s), policy version ${issued.policyVersion}, valid until ${issued.expiresAt}, sha256 ${issued.sha256}\n` +
            `apply exactly these with: chime-lifecycle sync --tenant ${plan.tenantId} --apply ${options.out}`,
        );
      }
      if (format === 'json') printJson(plan);
      else if (format === 'markdown')
        process.stdout.write(renderPlanMarkdown(buildReport(policy, source, plan, users, now)));
      else printPlan(plan, source);
    });
}

/** The plan (and for markdown, the per-user expiries), with a progress line on a terminal. */
async function planWithProgress(
  runtime: Runtime,
  policy: Policy,
  now: number,
  format: Format,
): Promise<{ plan: Plan; users: Awaited<ReturnType<typeof scanForReport>>['users']; policy: Policy }> {
  const estimate = await lastScanEstimate(runtime, policy.tenantId);
  const progress = progressOnTerminal(`plan ${policy.tenantId}`, { json: format !== 'text', estimate });
  if (format === 'markdown') return { ...(await scanForReport(runtime, policy, now, progress)), policy };
  // Text and JSON need no per-user expiries: only the plan's own reads are made.
  return { plan: await scanPlan(runtime, policy, now, progress), users: [], policy };
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
      `--format: must be one of ${FORMATS.join(', ')}, got ${quoteInput(format)}`,
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

/** Which policy a plan or report used: the stored version it read, or the file given with --policy. */
export function policySourceOf(
  stored: { readonly version: number } | undefined,
  file: string | undefined,
): ReportPolicySource {
  if (stored) return { kind: 'stored', version: stored.version };
  return { kind: 'unsaved', file: file === undefined || file === '-' ? '(standard input)' : file };
}

export async function storedPolicyRecord(
  runtime: { policyStore: { get(tenantId: string): Promise<{ policy: Policy; version: number } | null> } },
  tenantId: string,
): Promise<{ policy: Policy; version: number }> {
  const stored = await runtime.policyStore.get(tenantId);
  if (!stored) throw noPolicyError(tenantId);
  return stored;
}

/** A duration such as 90m, 12h or 7d (a bare number is hours). */
export function durationOption(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)([mhd]?)$/.exec(value.trim());
  const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = match ? Number(match[1]) * unitMs[(match[2] || 'h') as 'm' | 'h' | 'd'] : Number.NaN;
  if (!(ms > 0) || ms > MAX_PLAN_VALIDITY_MS) {
    throw new CliError(
      `${flag}: must be a duration above 0 and at most 30d, like 90m, 12h or 7d, got ${quoteInput(value)}`,
      EXIT_INVALID,
    );
  }
  return ms;
}

export async function storedPolicy(
  runtime: { policyStore: { get(tenantId: string): Promise<{ policy: Policy } | null> } },
  tenantId: string,
): Promise<Policy> {
  const stored = await runtime.policyStore.get(tenantId);
  if (!stored) throw noPolicyError(tenantId);
  return stored.policy;
}

function printPlan(plan: Plan, source: ReportPolicySource): void {
  const { summary } = plan;
  printLine(
    `plan for tenant ${plan.tenantId} (${plan.appInstanceArn}) at ${plan.generatedAt}, ${policySourceText(source)}`,
  );
  printLine('');
  printLine(
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
  printLine('');
  printLine(
    summary.safety.wouldHold
      ? `safety: a sync would HOLD the ${summary.shortening} shortening change(s): ${summary.safety.reasons.join('; ')}`
      : 'safety: within the caps; a sync would apply every change',
  );
  for (const user of plan.protected) {
    printLine(`protected: ${user.appInstanceUserId}: ${user.reason}`);
  }
  if (plan.changes.length === 0) {
    printLine('no changes');
    return;
  }
  printLine('');
  printLine(
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
