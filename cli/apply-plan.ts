import { readFile } from 'node:fs/promises';
import { parseStrictJsonBytes } from '../shared/policy/strict-json';
import { applyPlanFile, checkPlanFile, type PlanApplication } from '../shared/sync/plan-file';
import { CliError, EXIT_INVALID, noPolicyError } from './errors';
import { printJson } from './output';
import { withRuntime } from './with-runtime';

/** Exit code when a plan was applied but some of its changes were skipped (drift, gone, admin). */
export const EXIT_PARTIAL = 4;

/**
 * `sync --tenant T --apply plan.json`: applies exactly the changes of a plan file made by `plan --out`, or
 * none when the file is not the plan that was made (hash), has expired, or the stored policy moved on.
 */
export async function applyPlanCommand(
  tenantId: string,
  file: string,
  options: { readonly json?: boolean; readonly quotaScale?: number },
): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliError(`--apply: cannot read plan file ${file}: ${reason}`, EXIT_INVALID);
  }
  const read = parseStrictJsonBytes(bytes);
  if (!read.ok) {
    throw new CliError(
      `--apply: ${file} is not valid JSON: ${read.problem.path}: ${read.problem.message}; nothing applied`,
      EXIT_INVALID,
    );
  }
  const application = await withRuntime(
    async (runtime) => {
      const stored = await runtime.policyStore.get(tenantId);
      if (!stored) throw noPolicyError(tenantId);
      const check = checkPlanFile(read.value, {
        tenantId,
        policyVersion: stored.version,
        now: Date.now(),
      });
      if (!check.ok) throw new CliError(`--apply: ${file}: ${check.refusal.message}`, EXIT_INVALID);
      return applyPlanFile(check.plan, {
        users: runtime.chimeUserPort,
        ledger: runtime.ledger,
        runs: runtime.runs,
        events: runtime.events,
        now: Date.now,
        protectAdmins: stored.policy.protectAdmins,
      });
    },
    options.quotaScale === undefined ? {} : { quotaScale: options.quotaScale },
  );
  if (options.json) printJson(application);
  else printApplication(application);
  if (application.skipped > 0) process.exitCode = EXIT_PARTIAL;
}

function printApplication(application: PlanApplication): void {
  console.log(
    `${application.tenantId}: plan ${application.sha256} (policy version ${application.policyVersion}): ` +
      `applied ${application.applied}, skipped ${application.skipped}`,
  );
  for (const change of application.changes) {
    if (change.outcome === 'applied') console.log(`  applied  ${change.appInstanceUserId}`);
    else if (change.outcome === 'drifted') {
      const found = change.found === null || change.found === undefined ? 'none' : `${change.found}d`;
      console.log(
        `  skipped  ${change.appInstanceUserId}: drift (its expiration is now ${found}, not the plan's current)`,
      );
    } else if (change.outcome === 'gone')
      console.log(`  skipped  ${change.appInstanceUserId}: no longer exists`);
    else console.log(`  skipped  ${change.appInstanceUserId}: AppInstanceAdmin, protected`);
  }
}
