import type { Command } from 'commander';
import type { DeadLetter, DeadLetterTools } from '../../shared/aws/dead-letters';
import { isSqsError, QUEUE_MISSING_CODES } from '../../shared/aws/sqs';
import type { Runtime } from '../../shared/composition-root';
import { isQueueKind, QUEUE_KINDS, type QueueKind, queueNamesOf } from '../../shared/queue-settings';
import { CliError, EXIT_INVALID } from '../errors';
import { clipText, printJson, printLine, quoteInput } from '../output';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface DlqOptions {
  readonly queue: string;
  readonly max?: string;
  readonly json?: boolean;
}

const DEFAULT_LIST_MAX = 20;
const DEFAULT_REDRIVE_MAX = 100;
/** SQS receives at most 10 per call; beyond this a peek would hold messages invisible for too long. */
const LIMIT = 1_000;

export function register(program: Command): void {
  const dlq = addCommand(program, 'dlq');

  dlq
    .command('list')
    .description('show why messages were dead-lettered (never their user data)')
    .option('--queue <queue>', `which queue: ${QUEUE_KINDS.join(' or ')}`, 'onboarding')
    .option('--max <n>', `at most this many messages (default ${DEFAULT_LIST_MAX})`)
    .option('--json', 'print machine-readable output')
    .action(async (options: DlqOptions) => {
      const kind = queueOption(options.queue);
      const max = maxOption(options.max, DEFAULT_LIST_MAX);
      await withQueues(kind, async (runtime, tools) => {
        const names = queueNamesOf(runtime.config, kind);
        const deadLetterUrl = await runtime.queues.resolveQueueUrl(names.deadLetterQueue);
        const letters = await tools.peek(deadLetterUrl, max);
        const rows = letters.map(describe);
        if (options.json) {
          printJson({
            queue: kind,
            deadLetterQueue: names.deadLetterQueue,
            count: rows.length,
            messages: rows,
          });
          return;
        }
        if (rows.length === 0) {
          write(`${names.deadLetterQueue}: no dead-lettered messages`);
          return;
        }
        write(
          `${names.deadLetterQueue}: ${rows.length} message(s)${rows.length === max ? ` (first ${max})` : ''}`,
        );
        for (const row of rows) write(deadLetterLine(row));
      });
    });

  dlq
    .command('redrive')
    .description('move dead-lettered messages back to their source queue (at-least-once)')
    .option('--queue <queue>', `which queue: ${QUEUE_KINDS.join(' or ')}`, 'onboarding')
    .option('--max <n>', `at most this many messages (default ${DEFAULT_REDRIVE_MAX})`)
    .option('--json', 'print machine-readable output')
    .action(async (options: DlqOptions) => {
      const kind = queueOption(options.queue);
      const max = maxOption(options.max, DEFAULT_REDRIVE_MAX);
      await withQueues(kind, async (runtime, tools) => {
        const names = queueNamesOf(runtime.config, kind);
        const deadLetterUrl = await runtime.queues.resolveQueueUrl(names.deadLetterQueue);
        const sourceUrl = await runtime.queues.resolveQueueUrl(names.queue);
        const moved = await tools.redrive(deadLetterUrl, sourceUrl, max);
        if (options.json) {
          printJson({
            queue: kind,
            from: names.deadLetterQueue,
            to: names.queue,
            moved,
            limitReached: moved === max,
          });
          return;
        }
        write(`moved ${moved} message(s) from ${names.deadLetterQueue} to ${names.queue}`);
        if (moved === max) write(`stopped at --max ${max}; there may be more (run again)`);
      });
    });
}

/** One line of `dlq list`: identifiers only, never the user's name or metadata from the body. */
export interface DeadLetterRow {
  readonly messageId: string;
  readonly reason: string;
  readonly detail?: string;
  readonly receiveCount: number;
  readonly receiveCountRecorded: boolean;
  readonly ageSeconds: number;
  readonly sentAt: string;
  readonly sourceQueue?: string;
  readonly tenantId?: string;
  readonly appInstanceUserId?: string;
  readonly requestId?: string;
  readonly bodyBytes: number;
}

export function describe(letter: DeadLetter): DeadLetterRow {
  return {
    messageId: letter.messageId,
    reason: letter.reason,
    ...(letter.detail !== undefined ? { detail: letter.detail } : {}),
    receiveCount: letter.receiveCount,
    receiveCountRecorded: letter.receiveCountRecorded,
    ageSeconds: Math.floor(letter.ageMs / 1_000),
    sentAt: letter.sentAt.toISOString(),
    ...(letter.sourceQueue !== undefined ? { sourceQueue: letter.sourceQueue } : {}),
    ...identifiersOf(letter.body),
    bodyBytes: Buffer.byteLength(letter.body),
  };
}

/** Picks the identifying fields out of a JSON body; anything else in it (names, metadata) stays unseen. */
function identifiersOf(body: string): Pick<DeadLetterRow, 'tenantId' | 'appInstanceUserId' | 'requestId'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const picked: { tenantId?: string; appInstanceUserId?: string; requestId?: string } = {};
  for (const key of ['tenantId', 'appInstanceUserId', 'requestId'] as const) {
    const value = record[key];
    if (typeof value === 'string') picked[key] = value;
  }
  return picked;
}

/**
 * Longest shown value of each field of a `dlq list` line. Every field came from outside (the body and the
 * attributes are whatever the sender wrote; a DLQ accepts any sender with SendMessage), so each is escaped
 * and cut: a line stays one line, and nothing in it reaches the terminal as a control sequence.
 */
const SHOWN = { id: 100, reason: 64, identifier: 64, detail: 300 } as const;

/** One line of `dlq list` for people. */
export function deadLetterLine(row: DeadLetterRow): string {
  const detail = row.detail ? ` — ${clipText(row.detail, SHOWN.detail)}` : '';
  return (
    `${clipText(row.messageId, SHOWN.id)}  ${clipText(row.reason, SHOWN.reason)}  receives=${row.receiveCount}  ` +
    `age=${formatAge(row.ageSeconds)}  ${summaryText(row)}${detail}`
  );
}

function summaryText(row: DeadLetterRow): string {
  const shown = (value: string) => clipText(value, SHOWN.identifier);
  const parts = [
    row.tenantId !== undefined ? `tenant=${shown(row.tenantId)}` : undefined,
    row.appInstanceUserId !== undefined ? `user=${shown(row.appInstanceUserId)}` : undefined,
    row.requestId !== undefined ? `request=${shown(row.requestId)}` : undefined,
  ].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(' ') : `body=${row.bodyBytes} bytes`;
}

export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m${seconds % 60 ? `${seconds % 60}s` : ''}`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h${Math.floor((seconds % 3_600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d${Math.floor((seconds % 86_400) / 3_600)}h`;
}

function queueOption(value: string): QueueKind {
  if (!isQueueKind(value)) {
    throw new CliError(
      `--queue must be one of ${QUEUE_KINDS.join(', ')}; got ${quoteInput(value)}`,
      EXIT_INVALID,
    );
  }
  return value;
}

function maxOption(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > LIMIT) {
    throw new CliError(
      `--max must be a whole number from 1 to ${LIMIT}; got ${quoteInput(value)}`,
      EXIT_INVALID,
    );
  }
  return parsed;
}

/** The DLQ tools come from the composition root, which builds the one SQS client of the command. */
async function withQueues(
  kind: QueueKind,
  work: (runtime: Runtime, tools: DeadLetterTools) => Promise<void>,
): Promise<void> {
  await withRuntime(async (runtime) => {
    try {
      await work(runtime, runtime.deadLetters);
    } catch (error) {
      if (isSqsError(error, QUEUE_MISSING_CODES)) {
        throw new CliError(
          `${kind} queue or its dead-letter queue does not exist (${Object.values(queueNamesOf(runtime.config, kind)).join(', ')}); check CHIME_LIFECYCLE_*_QUEUE[_DLQ] and AWS_ENDPOINT_URL_SQS`,
        );
      }
      throw error;
    }
  });
}

function write(line: string): void {
  printLine(line);
}
