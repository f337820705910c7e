import type { Command } from 'commander';
import type { Policy } from '../../shared/policy';
import { type Plan, planTenant } from '../../shared/sync/plan';
import { CliError, EXIT_INVALID } from '../errors';
import { positiveNumberOption } from '../options';
import { printJson } from '../output';
import { readPolicyFile, tenantIdArgument } from '../policy-file';
import { withRuntime } from '../with-runtime';

interface PlanOptions {
  readonly tenant?: string;
  readonly policy?: string;
  readonly json?: boolean;
  readonly quotaScale?: string;
}

export function register(program: Command): void {
  program
    .command('plan')
    .description("show what a sync would change for a tenant, from Chime's current state; writes nothing")
    .option('--tenant <tenantId>', 'the tenant (defaults to the tenantId of --policy)')
    .option('--policy <file>', 'preview an unsaved policy document instead of the stored one')
    .option('--quota-scale <k>', 'multiply the Chime quotas the client respects (match the emulator)')
    .option('--json', 'print one JSON object with summary and changes')
    .action(async (options: PlanOptions) => {
      const quotaScale =
        options.quotaScale === undefined
          ? undefined
          : positiveNumberOption('--quota-scale', options.quotaScale);
      if (options.tenant === undefined && options.policy === undefined) {
        throw new CliError('--tenant: required (or give --policy <file>)', EXIT_INVALID);
      }
      const tenantId =
        options.tenant === undefined ? undefined : tenantIdArgument(options.tenant, '--tenant');
      let unsaved: Policy | undefined;
      if (options.policy !== undefined) {
        const file = await readPolicyFile(options.policy);
        if (!file.ok)
          throw new CliError(
            `${options.policy} is not a valid policy:\n  ${file.problems.join('\n  ')}`,
            EXIT_INVALID,
          );
        if (tenantId !== undefined && file.policy.tenantId !== tenantId) {
          throw new CliError(
            `--policy: the document is for tenant "${file.policy.tenantId}", not "${tenantId}"`,
            EXIT_INVALID,
          );
        }
        unsaved = file.policy;
      }
      const plan = await withRuntime(
        async (runtime) => {
          let policy = unsaved;
          if (!policy) {
            const stored = await runtime.policyStore.get(tenantId as string);
            if (!stored) throw new CliError(`no policy stored for tenant ${tenantId}`);
            policy = stored.policy;
          }
          return planTenant(policy, runtime.chimeUsers, Date.now());
        },
        quotaScale === undefined ? {} : { quotaScale },
      );
      if (options.json) printJson(plan);
      else printPlan(plan);
    });
}

function printPlan(plan: Plan): void {
  const { summary } = plan;
  console.log(`plan for tenant ${plan.tenantId} (${plan.appInstanceArn}) at ${plan.generatedAt}`);
  console.log(
    `  users ${summary.users}, unchanged ${summary.unchanged}, set ${summary.set}, remove ${summary.remove}, ` +
      `shortening ${summary.shortening}, rescues ${summary.rescues}, unmanaged ${summary.unmanaged}, gone ${summary.gone}`,
  );
  console.log(
    summary.safety.wouldHold
      ? `  safety: a sync would HOLD the ${summary.shortening} shortening change(s): ${summary.safety.reasons.join('; ')}`
      : '  safety: within the caps; a sync would apply every change',
  );
  if (plan.changes.length === 0) {
    console.log('  no changes');
    return;
  }
  console.log('');
  console.log('  user id\tcurrent\tdesired\trule\treason');
  for (const change of plan.changes) {
    const current = change.currentDays === null ? 'none' : `${change.currentDays}d`;
    const desired = change.desiredDays === null ? 'none' : `${change.desiredDays}d`;
    const flags = [change.shortens ? 'SHORTENS' : '', change.rescue ? 'RESCUE' : '']
      .filter(Boolean)
      .join(' ');
    console.log(
      `  ${change.appInstanceUserId}\t${current}\t${desired}\t${change.ruleId ?? change.source}\t${change.reason}${flags ? ` [${flags}]` : ''}`,
    );
  }
}
