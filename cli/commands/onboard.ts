import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import pLimit from 'p-limit';
import { type FailedEntry, SendBatchError, type SqsQueues } from '../../shared/aws/queues';
import { parseOnboardMessage } from '../../shared/onboarding/message';
import { CliError, EXIT_INVALID } from '../errors';
import { printJson, printLine, printNote } from '../output';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface OnboardOptions {
  readonly file: string;
  readonly queueUrl?: string;
  readonly json?: boolean;
}

/** One line the command refused: where, and why (field paths and rules, never the line's values). */
export interface InvalidLine {
  readonly line: number;
  readonly reason: string;
  readonly detail: string;
}

export interface UnsentLine {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

export interface OnboardSummary {
  readonly file: string;
  readonly queueUrl: string;
  readonly lines: number;
  readonly sent: number;
  readonly invalid: readonly InvalidLine[];
  readonly unsent: readonly UnsentLine[];
}

/** SendMessageBatch takes 10; a few batches in flight keep a large file quick without flooding SQS. */
const BATCH_SIZE = 10;
const CONCURRENT_BATCHES = 4;

export function register(program: Command): void {
  addCommand(program, 'onboard')
    .requiredOption(
      '--file <users.jsonl>',
      'one onboarding request (JSON object) per line; blank lines are skipped',
    )
    .option('--queue-url <url>', 'the queue to send to (default: the configured onboarding queue)')
    .option('--json', 'print a machine-readable summary')
    .addHelpText(
      'after',
      `
Each line is validated with the same schema the onboard-users function uses:
  {"tenantId", "appInstanceUserId", "name", "metadata"?, "tags"?: [{"Key","Value"}], "requestId"?}
Invalid lines are listed with their line numbers and reasons and are not sent; the valid lines are sent
anyway, in batches of 10. Sending is safe to repeat: the queue consumer creates each request once.

Exit status:
  0  every line was sent
  2  some lines were invalid (every valid line was still sent), or a flag was wrong
  1  some valid lines could not be sent (they are listed; run again with a file of those lines)`,
    )
    .action(async (options: OnboardOptions) => {
      const text = await readFile(options.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new CliError(
          `--file: cannot read ${options.file}: ${error.code ?? error.message}`,
          EXIT_INVALID,
        );
      });
      const summary = await withRuntime(async (runtime) => {
        const queueUrl =
          options.queueUrl ?? (await runtime.queues.resolveQueueUrl(runtime.config.onboardingQueue));
        return sendLines(runtime.queues, queueUrl, options.file, text, progressReporter());
      });
      report(summary, options.json === true);
      if (summary.unsent.length > 0) {
        throw new CliError(`${summary.unsent.length} valid line(s) could not be sent`);
      }
      if (summary.invalid.length > 0) {
        throw new CliError(`${summary.invalid.length} invalid line(s) were not sent`, EXIT_INVALID);
      }
    });
}

type Progress = (done: number, total: number) => void;

/** Validates every line, then sends the valid ones in batches of 10. */
export async function sendLines(
  queues: Pick<SqsQueues, 'sendBatch'>,
  queueUrl: string,
  file: string,
  text: string,
  progress: Progress = () => {},
): Promise<OnboardSummary> {
  const invalid: InvalidLine[] = [];
  const valid: { line: number; body: string; tenantId: string }[] = [];
  const lines = text.split(/\r?\n/);
  // A trailing newline is not a line of its own.
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((content, index) => {
    if (content.trim() === '') return;
    const line = index + 1;
    const parsed = parseOnboardMessage(content);
    if (parsed.ok)
      valid.push({ line, body: JSON.stringify(parsed.request), tenantId: parsed.request.tenantId });
    else invalid.push({ line, reason: parsed.reason, detail: parsed.detail });
  });

  let sent = 0;
  const unsent: UnsentLine[] = [];
  const limit = pLimit(CONCURRENT_BATCHES);
  const batches: (typeof valid)[] = [];
  for (let start = 0; start < valid.length; start += BATCH_SIZE)
    batches.push(valid.slice(start, start + BATCH_SIZE));
  progress(0, valid.length);
  await Promise.all(
    batches.map((batch) =>
      limit(async () => {
        try {
          // Entry ids carry the line number, so a failure names its line. The tenant is the message group:
          // the onboarding queue delivers as a fair queue (docs/onboarding.md, "Fairness").
          const done = await queues.sendBatch(
            queueUrl,
            batch.map(({ line, body, tenantId }) => ({ id: `line-${line}`, body, groupId: tenantId })),
          );
          sent += done.length;
        } catch (error) {
          if (!(error instanceof SendBatchError)) throw error;
          sent += error.sent.length;
          unsent.push(...error.failed.map(unsentLine));
        }
        progress(sent + unsent.length, valid.length);
      }),
    ),
  );
  unsent.sort((a, b) => a.line - b.line);
  return { file, queueUrl, lines: lines.length, sent, invalid, unsent };
}

function unsentLine(failure: FailedEntry): UnsentLine {
  return { line: Number(failure.id.replace('line-', '')), code: failure.code, message: failure.message };
}

/** A progress bar on stderr when it is a terminal; nothing otherwise (the summary line says it all). */
function progressReporter(): Progress {
  if (!process.stderr.isTTY) return () => {};
  const width = 30;
  return (done, total) => {
    const filled = total === 0 ? width : Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} sent`);
    if (done >= total) process.stderr.write('\n');
  };
}

function report(summary: OnboardSummary, json: boolean): void {
  if (json) {
    printJson(summary);
    return;
  }
  for (const problem of summary.invalid) {
    printNote(`${summary.file}:${problem.line}: ${problem.reason}: ${problem.detail}`);
  }
  for (const problem of summary.unsent) {
    printNote(`${summary.file}:${problem.line}: not sent: ${problem.code}: ${problem.message}`);
  }
  const valid = summary.sent + summary.unsent.length;
  const parts = [`sent ${summary.sent} of ${valid} valid request(s) to ${summary.queueUrl}`];
  if (summary.invalid.length > 0) parts.push(`${summary.invalid.length} invalid line(s) not sent`);
  if (summary.unsent.length > 0) parts.push(`${summary.unsent.length} could not be sent`);
  printLine(parts.join('; '));
}
