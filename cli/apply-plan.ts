import { readFile, stat } from 'node:fs/promises';
import { parseStrictJsonBytes } from '../shared/policy/strict-json';
import {
  applyIssuedPlan,
  type PlanApplication,
  PlanRefusedError,
  TenantBusyError,
} from '../shared/sync/plan-apply';
import { MAX_PLAN_FILE_BYTES } from '../shared/sync/plan-file';
import { CliError, EXIT, EXIT_INVALID, noPolicyError } from './errors';
import { printJson, printLine } from './output';
import { type Progress, progressOnTerminal } from './progress';
import { withRuntime } from './with-runtime';

/**
 * `sync --tenant T --apply plan.json`: applies the changes of a plan `plan --out` issued, once, each decided
 * again by the policy now, or none of them (shared/sync/plan-apply.ts says what is checked).
 */
export async function applyPlanCommand(
  tenantId: string,
  file: string,
  options: { readonly json?: boolean; readonly quotaScale?: number },
): Promise<void> {
  const bytes = await readPlanFile(file);
  const read = parseStrictJsonBytes(bytes);
  if (!read.ok) {
    throw new CliError(
      `--apply: ${file} is not valid JSON: ${read.problem.path}: ${read.problem.message}; nothing applied`,
      EXIT_INVALID,
    );
  }
  const progress = phasedProgress(tenantId, options.json);
  let application: PlanApplication;
  try {
    application = await withRuntime(
      (runtime) =>
        applyIssuedPlan(read.value, tenantId, {
          policies: runtime.policyStore,
          users: runtime.chimeUserPort,
          ledger: runtime.ledger,
          activity: runtime.activity,
          runs: runtime.runs,
          issued: runtime.issuedPlans,
          events: runtime.events,
          now: Date.now,
          settings: runtime.reconcileSettings,
          progress: progress.update,
        }),
      options.quotaScale === undefined ? {} : { quotaScale: options.quotaScale },
    );
  } catch (error) {
    if (error instanceof PlanRefusedError) {
      if (error.reason === 'no-policy') throw noPolicyError(tenantId);
      const code = error.reason === 'already-applied' ? EXIT.conflict : EXIT_INVALID;
      throw new CliError(`--apply: ${file}: ${error.detail}`, code);
    }
    if (error instanceof TenantBusyError) throw new CliError(`--apply: ${error.message}`);
    throw error;
  } finally {
    progress.done();
  }
  if (options.json) printJson(application);
  else printApplication(application);
  if (application.skipped > 0) process.exitCode = EXIT.partial;
}

async function readPlanFile(file: string): Promise<Buffer> {
  try {
    // Refused before it is read: a plan file has a size limit (plan-file.ts), and a huge file is not one.
    const { size } = await stat(file);
    if (size > MAX_PLAN_FILE_BYTES) {
      throw new CliError(
        `--apply: ${file} is ${size} bytes; a plan file has at most ${MAX_PLAN_FILE_BYTES}; nothing applied`,
        EXIT_INVALID,
      );
    }
    return await readFile(file);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliError(`--apply: cannot read plan file ${file}: ${reason}`, EXIT_INVALID);
  }
}

/** One progress line per phase on a terminal: users verified (one Describe each), then changes written. */
function phasedProgress(
  tenantId: string,
  json: boolean | undefined,
): { update(phase: 'verify' | 'write', done: number, total: number): void; done(): void } {
  let current: { phase: 'verify' | 'write'; line: Progress } | undefined;
  return {
    update(phase, done, total) {
      if (current?.phase !== phase) {
        current?.line.done();
        const unit = phase === 'verify' ? 'users verified' : 'changes written';
        current = { phase, line: progressOnTerminal(`apply ${tenantId}`, { json, estimate: total, unit }) };
      }
      current.line.update(done);
    },
    done() {
      current?.line.done();
    },
  };
}

function printApplication(application: PlanApplication): void {
  printLine(
    `${application.tenantId}: plan ${application.sha256} (policy version ${application.policyVersion}): ` +
      `applied ${application.applied}, skipped ${application.skipped}`,
  );
  for (const change of application.changes) {
    const id = change.appInstanceUserId;
    if (change.outcome === 'applied') printLine(`  applied  ${id}`);
    else if (change.outcome === 'drifted') {
      const found = change.found === null || change.found === undefined ? 'none' : `${change.found}d`;
      printLine(`  skipped  ${id}: drift (its expiration is now ${found}, not the plan's current)`);
    } else if (change.outcome === 'gone') printLine(`  skipped  ${id}: no longer exists`);
    else if (change.outcome === 'changed')
      printLine(`  skipped  ${id}: changed since the plan: ${change.why}`);
    else printLine(`  skipped  ${id}: AppInstanceAdmin, protected`);
  }
}
