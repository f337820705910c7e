import type { Command } from 'commander';
import type { LedgerEntry } from '../../shared/contracts/ledger';
import {
  DAY_MS,
  type Explanation,
  explainDecision,
  historyOf,
  policyNeedsActivity,
  type RuleHistoryEntry,
} from '../../shared/policy';
import { CliError, EXIT, EXIT_INVALID, noPolicyError } from '../errors';
import { printJson, printLine, quoteInput } from '../output';
import { tenantIdArgument } from '../policy-file';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface ExplainOptions {
  readonly tenant?: string;
  readonly user?: string;
  readonly json?: boolean;
}

const USER_ID = /^[A-Za-z0-9._@:+=-]{1,64}$/;

export function register(program: Command): void {
  addCommand(program, 'explain')
    .option('--tenant <tenantId>', 'the tenant')
    .option('--user <appInstanceUserId>', 'the AppInstanceUserId')
    .option('--json', 'print machine-readable output')
    .action(async (options: ExplainOptions) => {
      if (options.tenant === undefined) throw new CliError('--tenant: required', EXIT_INVALID);
      if (options.user === undefined) throw new CliError('--user: required', EXIT_INVALID);
      const tenantId = tenantIdArgument(options.tenant, '--tenant');
      const userId = options.user;
      if (!USER_ID.test(userId)) {
        throw new CliError(
          `--user: not an AppInstanceUserId (1..64 characters), got ${quoteInput(userId)}`,
          EXIT_INVALID,
        );
      }
      const now = Date.now();
      const report = await withRuntime(async (runtime) => {
        const stored = await runtime.policyStore.get(tenantId);
        if (!stored) throw noPolicyError(tenantId);
        const { policy } = stored;
        const userArn = runtime.chimeUsers.userArn(policy.appInstanceArn, userId);
        // The one Describe: Chime's state now (its Name is never shown).
        const described = await runtime.chimeUserPort.describe(userArn);
        if (!described) {
          throw new CliError(
            `unknown user ${userId}: AppInstance ${policy.appInstanceArn} of tenant ${tenantId} has no such user`,
            EXIT.notFound,
          );
        }
        const admins = policy.protectAdmins
          ? await runtime.chimeUserPort.listAdmins(policy.appInstanceArn)
          : undefined;
        // The recorded activity, from the store the sync reads it from; the decision uses it exactly when the
        // sync's does (a policy with an expiration that renews by activity), so explain and sync agree.
        const lastActiveAt = (await runtime.activity.lastActiveMany(tenantId, [userId])).get(userId);
        const decidesByActivity = policyNeedsActivity(policy);
        const explanation = explainDecision(
          policy,
          { appInstanceUserId: userId, metadata: described.metadata },
          {
            createdAt: described.createdAt,
            expirationDays: described.expirationDays,
            lastActiveAt: decidesByActivity ? lastActiveAt : undefined,
          },
          now,
          admins,
        );
        const ledger = (await runtime.ledger.getMany(tenantId, [userId])).get(userId) ?? null;
        const history = historyOf(
          await runtime.policyStore.history(tenantId),
          explanation.decision.source,
          explanation.decision.ruleId,
        );
        return {
          tenantId,
          appInstanceUserId: userId,
          appInstanceUserArn: userArn,
          policyVersion: stored.version,
          at: new Date(now).toISOString(),
          chime: {
            createdAt: new Date(described.createdAt).toISOString(),
            expirationDays: described.expirationDays ?? null,
          },
          admin: admins?.has(userId) ?? null,
          activity: {
            lastActiveAt: lastActiveAt === undefined ? null : new Date(lastActiveAt).toISOString(),
            usedByPolicy: decidesByActivity,
          },
          explanation,
          ledger,
          history,
        };
      });
      if (options.json) printJson(report);
      else printExplanation(report);
    });
}

interface Report {
  readonly tenantId: string;
  readonly appInstanceUserId: string;
  readonly policyVersion: number;
  readonly at: string;
  readonly chime: { readonly createdAt: string; readonly expirationDays: number | null };
  readonly admin: boolean | null;
  /** The user's last recorded activity, and whether the policy decides with it (as the sync does). */
  readonly activity: { readonly lastActiveAt: string | null; readonly usedByPolicy: boolean };
  readonly explanation: Explanation;
  readonly ledger: LedgerEntry | null;
  readonly history: readonly RuleHistoryEntry[];
}

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? 'none' : new Date(ms).toISOString();

function printExplanation(report: Report): void {
  const { explanation: e, chime, ledger } = report;
  const d = e.decision;
  printLine(
    `user ${report.appInstanceUserId} of tenant ${report.tenantId} (policy version ${report.policyVersion}) at ${report.at}`,
  );
  printLine('');
  printLine('Chime now:');
  printLine(
    `  created ${chime.createdAt}, ExpirationDays ${chime.expirationDays ?? 'none'} (expires ${iso(d.currentExpiresAt)})`,
  );
  printLine(
    `  AppInstanceAdmin: ${report.admin === null ? 'not checked (protectAdmins is false)' : report.admin ? 'yes' : 'no'}`,
  );
  printLine(
    `  last recorded activity: ${report.activity.lastActiveAt ?? 'none'} (${report.activity.usedByPolicy ? 'decided with, as the sync does' : 'not used: no expiration of this policy renews by activity'})`,
  );
  printLine('');
  printLine('tried, in order:');
  if (d.source === 'admin')
    printLine('  admin protection: the user is an AppInstanceAdmin; rules and exemptions are not applied');
  for (const step of e.steps) {
    const name =
      step.kind === 'rule' ? `rule ${step.id} (priority ${step.priority})` : `exemption ${step.id}`;
    printLine(`  ${step.matched ? '✔' : '✘'} ${name}: ${step.why}`);
  }
  if (e.notTried.length > 0) printLine(`  not tried (an earlier match decided): ${e.notTried.join(', ')}`);
  if (d.source === 'default') printLine('  → no rule matched: the default applies');
  if (d.source === 'none') printLine('  → no rule matched and there is no default: unmanaged');
  printLine('');
  printLine('decision:');
  printLine(
    `  governed by: ${d.source === 'rule' || d.source === 'exemption' ? `${d.source} ${d.ruleId}` : d.source}`,
  );
  printLine(`  target: ${d.intent === 'days' ? `${d.intendedDays} days from creation` : d.intent}`);
  printLine(
    `  floor: ${e.minRemainingDays} day(s) remaining at least (${d.floored ? 'applied' : 'not needed'})`,
  );
  printLine(`  expiry before: ${iso(d.currentExpiresAt)}; after: ${iso(d.desiredExpiresAt)}`);
  printLine(
    `  write: ${d.desired.kind === 'set' ? `set ${d.desired.days} days` : d.desired.kind === 'remove' ? 'remove the expiration' : 'none'}${d.shortens ? ' (shortens: subject to the safety caps)' : ''}`,
  );
  printLine(`  reason: ${d.reason}`);
  printLine('');
  printLine('ledger:');
  if (!ledger) printLine('  no entry (never synced or onboarded by chime-lifecycle)');
  else {
    printLine(
      `  last verified ${iso(ledger.verifiedAt)}; ExpirationDays as known ${ledger.expirationDays ?? 'none'}`,
    );
    printLine(
      `  applied under policy version ${ledger.appliedPolicyVersion ?? '-'} by ${ledger.appliedRuleId ?? '-'}; last written by run ${ledger.lastSeenRunId ?? '-'} at ${iso(ledger.lastSeenAt)}`,
    );
    if (ledger.goneAt !== undefined) printLine(`  marked gone at ${iso(ledger.goneAt)}`);
  }
  printLine('');
  printLine(
    `policy history of ${d.source === 'rule' || d.source === 'exemption' ? `${d.source} ${d.ruleId}` : d.source}:`,
  );
  if (report.history.length === 0) printLine('  (no stored version holds it)');
  for (const entry of report.history)
    printLine(`  version ${entry.version} (${entry.updatedAt}): ${entry.change}`);
  if (d.desiredExpiresAt !== null && d.desiredExpiresAt > Date.parse(report.at)) {
    const left = Math.ceil((d.desiredExpiresAt - Date.parse(report.at)) / DAY_MS);
    printLine('');
    printLine(`expires in ${left} day(s) once the decision is applied`);
  }
}
