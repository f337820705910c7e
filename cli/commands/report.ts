import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Policy } from '../../shared/policy';
import { buildReport, policySourceText } from '../../shared/report/data';
import { renderReportHtml } from '../../shared/report/html';
import { CliError, EXIT_INVALID } from '../errors';
import { positiveNumberOption } from '../options';
import { tenantIdArgument } from '../policy-file';
import { progressOnTerminal } from '../progress';
import { lastScanEstimate, scanForReport } from '../scan';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';
import { policySourceOf, storedPolicyRecord, unsavedPolicy } from './plan';

interface ReportOptions {
  readonly tenant?: string;
  readonly policy?: string;
  readonly html?: string;
  readonly quotaScale?: string;
}

export function register(program: Command): void {
  addCommand(program, 'report')
    .requiredOption('--tenant <tenantId>', 'the tenant')
    .requiredOption('--html <file>', 'where to write the page (self-contained: no network fetch when opened)')
    .option('--policy <file>', 'report on an unsaved policy document instead of the stored one')
    .option('--quota-scale <k>', 'multiply the Chime quotas the client respects (match the emulator)')
    .action(async (options: ReportOptions) => {
      const tenantId = tenantIdArgument(options.tenant as string, '--tenant');
      const quotaScale =
        options.quotaScale === undefined
          ? undefined
          : positiveNumberOption('--quota-scale', options.quotaScale);
      const html = options.html as string;
      if (html.trim() === '') throw new CliError('--html: needs a file name', EXIT_INVALID);
      const unsaved = await unsavedPolicy(options.policy, tenantId);
      const now = Date.now();
      const report = await withRuntime(
        async (runtime) => {
          const stored = unsaved === undefined ? await storedPolicyRecord(runtime, tenantId) : undefined;
          const policy = unsaved ?? (stored?.policy as Policy);
          const estimate = await lastScanEstimate(runtime, tenantId);
          const progress = progressOnTerminal(`report ${tenantId}`, { estimate });
          const { plan, users } = await scanForReport(runtime, policy, now, progress);
          return buildReport(policy, policySourceOf(stored, options.policy), plan, users, now);
        },
        quotaScale === undefined ? {} : { quotaScale },
      );
      await writeFile(html, renderReportHtml(report)).catch((error: NodeJS.ErrnoException) => {
        throw new CliError(`--html: cannot write ${html}: ${error.code ?? error.message}`, EXIT_INVALID);
      });
      console.log(
        `wrote ${html}: tenant ${tenantId}, ${policySourceText(report.policySource)}, ${report.summary.users} users, ${report.summary.shortening} shortening change(s), ${report.summary.safety.wouldHold ? 'a sync would hold them' : 'within the safety caps'}`,
      );
    });
}
