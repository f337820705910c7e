import type { Command } from 'commander';
import { compilePolicy, DAY_MS, parseWithin } from '../../shared/policy';
import { expiringFromLedger } from '../../shared/sync/warnings';
import { CliError, EXIT_INVALID, noPolicyError } from '../errors';
import { printJson, quoteInput } from '../output';
import { tenantIdArgument } from '../policy-file';
import { formatTable } from '../table';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface ExpiringOptions {
  readonly tenant?: string;
  readonly within?: string;
  readonly json?: boolean;
}

export function register(program: Command): void {
  addCommand(program, 'expiring')
    .requiredOption('--tenant <tenantId>', 'the tenant')
    .option('--within <duration>', 'how far ahead: 7d, 36h, 90m (a bare number is days)', '7d')
    .option('--json', 'print the users as JSON')
    .action(async (options: ExpiringOptions) => {
      const tenantId = tenantIdArgument(options.tenant as string, '--tenant');
      const withinText = options.within ?? '7d';
      const withinMs = parseWithin(withinText);
      if (withinMs === null) {
        throw new CliError(
          `--within: must be a positive duration such as 7d, 36h or 90m, got ${quoteInput(withinText)}`,
          EXIT_INVALID,
        );
      }
      const now = Date.now();
      const users = await withRuntime(async (runtime) => {
        const stored = await runtime.policyStore.get(tenantId);
        if (!stored) throw noPolicyError(tenantId);
        const horizons = compilePolicy(stored.policy).horizons;
        return expiringFromLedger(runtime.ledger.all(tenantId), now, withinMs, horizons);
      });
      if (options.json) {
        printJson({
          tenantId,
          at: new Date(now).toISOString(),
          withinDays: withinMs / DAY_MS,
          users: users.map((user) => ({
            appInstanceUserId: user.appInstanceUserId,
            expiresAt: new Date(user.expiresAt).toISOString(),
            horizonDays: user.horizonDays,
            ruleId: user.ruleId,
            warned: user.warned,
          })),
        });
        return;
      }
      if (users.length === 0) {
        console.log(`${tenantId}: no user expires within ${withinText} (as of the last sync)`);
        return;
      }
      console.log(
        formatTable(
          ['user', 'expires', 'in', 'rule', 'warned'],
          users.map((user) => [
            user.appInstanceUserId,
            new Date(user.expiresAt).toISOString(),
            `${((user.expiresAt - now) / DAY_MS).toFixed(1)} d`,
            user.ruleId ?? '(default)',
            user.warned.length === 0 ? '-' : user.warned.map((days) => `${days}d`).join(' '),
          ]),
          { rightAlign: [2] },
        ),
      );
      console.log(`${users.length} user(s) of ${tenantId} expire within ${withinText} (as of the last sync)`);
    });
}
