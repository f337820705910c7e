import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { refusalsOf } from '../../shared/activity/admission';
import { activityMessageSchema } from '../../shared/activity/message';
import { recordActivity } from '../../shared/activity/record';
import type { ActivityEvent } from '../../shared/contracts/activity';
import { CliError, EXIT_INVALID } from '../errors';
import { printJson, printLine, quoteInput } from '../output';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface ActivityOptions {
  readonly file?: string;
  readonly json?: boolean;
}

/** At most this many problems are printed; the count covers them all. */
const MAX_PROBLEMS = 10;

export function register(program: Command): void {
  addCommand(program, 'activity')
    .requiredOption('--file <events.jsonl>', 'the events, one per line ("-" reads standard input)')
    .option('--json', 'print the tally as JSON')
    .action(async (options: ActivityOptions) => {
      const file = options.file as string;
      const text = await (file === '-' ? readStdin() : readFile(file, 'utf8')).catch(
        (error: NodeJS.ErrnoException) => {
          throw new CliError(`--file: cannot read ${file}: ${error.code ?? error.message}`, EXIT_INVALID);
        },
      );
      const { events, lines, problems } = parseLines(text);
      if (problems.length > 0) {
        const shown = problems.slice(0, MAX_PROBLEMS).join('\n  ');
        throw new CliError(
          `${file}: ${problems.length} invalid line(s), nothing recorded; fix them and run again:\n  ${shown}`,
          EXIT_INVALID,
        );
      }
      const tally = await withRuntime(async (runtime) => {
        // Derived, not believed: the clock, the stored policy and the tenant's ledger decide (admission.ts).
        const refused = await refusalsOf(events, {
          policies: runtime.policyStore,
          ledger: runtime.ledger,
          now: Date.now,
        });
        if (refused.length > 0) {
          const shown = refused
            .slice(0, MAX_PROBLEMS)
            .map(({ index, refusal }) => `line ${lines[index]}: ${refusal.reason}: ${refusal.detail}`)
            .join('\n  ');
          throw new CliError(
            `${file}: ${refused.length} line(s) refused, nothing recorded:\n  ${shown}`,
            EXIT_INVALID,
          );
        }
        return recordActivity(events, runtime.activity);
      });
      if (options.json) printJson(tally);
      else {
        printLine(
          `recorded ${tally.events} event(s): ${tally.updates} user(s) updated once each, ${tally.advanced} moved forward, ${tally.stale} already had a later activity`,
        );
      }
    });
}

/** Parses JSONL; problems name the line and the field, never the value. */
function parseLines(text: string): { events: ActivityEvent[]; lines: number[]; problems: string[] } {
  const events: ActivityEvent[] = [];
  /** The line number of each event. */
  const lines: number[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${index + 1}: not valid JSON`);
      return;
    }
    const parsed = activityMessageSchema.safeParse(value);
    if (parsed.success) {
      events.push(parsed.data);
      lines.push(index + 1);
    } else {
      const detail = parsed.error.issues
        .map(
          (issue) =>
            `${issue.path.join('.') || '(line)'}: ${issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((key) => quoteInput(key)).join(', ')}` : issue.message}`,
        )
        .join('; ');
      problems.push(`line ${index + 1}: ${detail}`);
    }
  });
  return { events, lines, problems };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
