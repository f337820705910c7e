import type { Command } from 'commander';
import { syncInProcess } from '../../shared/sync/pull-mode';
import { applyPlanCommand } from '../apply-plan';
import { CliError, EXIT, EXIT_INVALID, noPolicyError } from '../errors';
import { positiveNumberOption } from '../options';
import { printJson, printLine } from '../output';
import { tenantIdArgument } from '../policy-file';
import { progressOnTerminal } from '../progress';
import { countingDirectory, lastScanEstimate } from '../scan';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface SyncOptions {
  readonly tenant?: string;
  readonly json?: boolean;
  readonly approveShortening?: boolean;
  readonly quotaScale?: string;
  readonly apply?: string;
}

/** Exit code when a run held shortening changes for approval. */

export function register(program: Command): void {
  addCommand(program, 'sync')
    .option('--tenant <tenantId>', 'only this tenant (default: every enabled tenant)')
    .option('--approve-shortening', 'apply shortening changes even above the safety caps (needs --tenant)')
    .option('--quota-scale <k>', 'multiply the Chime quotas the client respects (match the emulator)')
    .option(
      '--apply <planFile>',
      'apply a plan issued by `plan --out`, once, each change as the policy decides it now (needs --tenant)',
    )
    .option('--json', 'print the run summaries as JSON')
    .action(async (options: SyncOptions) => {
      const quotaScale =
        options.quotaScale === undefined
          ? undefined
          : positiveNumberOption('--quota-scale', options.quotaScale);
      const tenant = options.tenant === undefined ? undefined : tenantIdArgument(options.tenant, '--tenant');
      if (options.approveShortening && tenant === undefined) {
        throw new CliError(
          '--approve-shortening: needs --tenant, so an approval is always for one tenant',
          EXIT_INVALID,
        );
      }
      if (options.apply !== undefined) {
        if (tenant === undefined || options.approveShortening) {
          throw new CliError(
            '--apply: needs --tenant and no --approve-shortening: the plan file itself is the approval',
            EXIT_INVALID,
          );
        }
        await applyPlanCommand(tenant, options.apply, {
          ...(options.json ? { json: true } : {}),
          ...(quotaScale === undefined ? {} : { quotaScale }),
        });
        return;
      }
      const results = await withRuntime(
        async (runtime) => {
          let tenantIds: string[];
          if (tenant !== undefined) {
            if (!(await runtime.policyStore.get(tenant))) throw noPolicyError(tenant);
            tenantIds = [tenant];
          } else {
            tenantIds = (await runtime.policyStore.list())
              .filter((stored) => stored.policy.enabled)
              .map((stored) => stored.tenantId);
          }
          const results = [];
          // One tenant at a time, so the progress line can name it and use its last run as the estimate.
          for (const tenantId of tenantIds) {
            const estimate = await lastScanEstimate(runtime, tenantId);
            const progress = progressOnTerminal(`sync ${tenantId}`, { json: options.json, estimate });
            try {
              results.push(
                ...(await syncInProcess(
                  [tenantId],
                  (queue) => {
                    const deps = runtime.reconcileDeps({ queue });
                    return { ...deps, users: countingDirectory(deps.users, progress.update) };
                  },
                  options.approveShortening ? { approveShortening: true } : {},
                )),
              );
            } finally {
              progress.done();
            }
          }
          return results;
        },
        quotaScale === undefined ? {} : { quotaScale },
      );
      if (options.json) printJson({ runs: results });
      else if (results.length === 0) printLine('no enabled tenants');
      for (const result of options.json ? [] : results) {
        if (!result.run) {
          printLine(`${result.tenantId}: skipped (${result.skipped ?? 'unknown reason'})`);
          continue;
        }
        const { state, counters, reason, runId } = result.run;
        printLine(
          `${result.tenantId}: ${state} run ${runId}: scanned ${counters.scanned}, unchanged ${counters.unchanged}, ` +
            `set ${counters.set}, removed ${counters.removed}, shortening ${counters.shortening} ` +
            `(held ${counters.held}), rescued ${counters.rescued}, unmanaged ${counters.unmanaged}, gone ${counters.gone}, ` +
            `protected admins ${counters.protected ?? 0}, Chime calls ${counters.chimeCalls}${reason ? ` — ${reason}` : ''}`,
        );
        if (state === 'held') {
          printLine(`  review with: chime-lifecycle plan --tenant ${result.tenantId}`);
          printLine(`  apply with:  chime-lifecycle sync --tenant ${result.tenantId} --approve-shortening`);
          printLine(
            `  or approve an exact plan: chime-lifecycle plan --tenant ${result.tenantId} --out plan.json, then sync --tenant ${result.tenantId} --apply plan.json`,
          );
        }
      }
      const states = results.map((result) => result.run?.state);
      if (states.includes('failed')) process.exitCode = EXIT.failed;
      else if (states.includes('held')) process.exitCode = EXIT.held;
    });
}
