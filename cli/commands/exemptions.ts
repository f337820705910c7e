import type { Command } from 'commander';
import { describeExpiration, describeSelectors, exemptionStatuses } from '../../shared/policy';
import { CliError, EXIT_INVALID, noPolicyError } from '../errors';
import { printJson, printLine } from '../output';
import { tenantIdArgument } from '../policy-file';
import { formatTable } from '../table';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface ExemptionsOptions {
  readonly tenant?: string;
  readonly json?: boolean;
}

export function register(program: Command): void {
  addCommand(program, 'exemptions')
    .option('--tenant <tenantId>', 'the tenant')
    .option('--json', 'print machine-readable output')
    .action(async (options: ExemptionsOptions) => {
      if (options.tenant === undefined) throw new CliError('--tenant: required', EXIT_INVALID);
      const tenantId = tenantIdArgument(options.tenant, '--tenant');
      const now = Date.now();
      const stored = await withRuntime((runtime) => runtime.policyStore.get(tenantId));
      if (!stored) throw noPolicyError(tenantId);
      const statuses = exemptionStatuses(stored.policy, now);
      if (options.json) {
        printJson({
          tenantId,
          policyVersion: stored.version,
          at: new Date(now).toISOString(),
          exemptions: statuses,
        });
        return;
      }
      if (statuses.length === 0) {
        printLine(`tenant ${tenantId} (policy version ${stored.version}): no exemptions`);
        return;
      }
      printLine(`tenant ${tenantId} (policy version ${stored.version}):`);
      printLine(
        formatTable(
          ['EXEMPTION', 'UNTIL', 'DAYS LEFT', 'EXPIRATION', 'OWNER', 'SELECTS', 'REASON'],
          statuses.map((status) => [
            status.id,
            status.until,
            status.active ? String(status.daysLeft) : 'ended',
            describeExpiration(status.expiration),
            status.owner,
            describeSelectors(status.match),
            status.reason,
          ]),
          { rightAlign: [2] },
        ),
      );
    });
}
