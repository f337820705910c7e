import { Command, CommanderError } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { COMMANDS, type CommandName, isCommandName } from './commands/index';
import { CliError, EXIT } from './errors';
import { explainError } from './explain-error';
import { clipQuotedInputs, escapeControl, quoteInput } from './output';

const NAME = 'chime-lifecycle';

/**
 * Builds the `chime-lifecycle` program for the arguments given (without node and the script). Only the
 * command they name is loaded from its module (`cli/commands/<name>.ts`) and defined in full; every other
 * command is its name and description from the light table, which is all the top-level help and "did you
 * mean" need.
 */
export async function buildProgram(args: readonly string[] = []): Promise<Command> {
  const program = new Command(NAME)
    .description(
      'Keeps Amazon Chime SDK Identity AppInstanceUser expiration in line with per-tenant policies',
    )
    .version(packageJson.version, '-V, --version', 'print the version and exit')
    .option('--debug', 'print stack traces for errors')
    // Errors are printed by main() as one line; the help is printed only when asked for (--help, help).
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .exitOverride();
  const invoked = invokedCommand(args);
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    if (name === invoked) (await COMMANDS[name].load()).register(program);
    else program.command(name).description(COMMANDS[name].description);
  }
  return program;
}

/**
 * The top-level command the arguments name (`help <command>` names it too). The program's own options take
 * no value, so the first argument that is not an option is the command.
 */
function invokedCommand(args: readonly string[]): CommandName | undefined {
  const operands = args.filter((arg) => !arg.startsWith('-'));
  const name = operands[0] === 'help' ? operands[1] : operands[0];
  return name !== undefined && isCommandName(name) ? name : undefined;
}

/** The deepest command the arguments name: where a usage error happened, and whose --help to point at. */
function commandPath(program: Command, args: readonly string[]): Command[] {
  const path = [program];
  for (const arg of args) {
    if (arg.startsWith('-')) continue;
    const current = path.at(-1) as Command;
    const next = current.commands.find((command) => command.name() === arg);
    if (!next) break;
    path.push(next);
  }
  return path;
}

/**
 * One line for a usage error Commander found (unknown command or option, missing option or argument, extra
 * arguments, missing subcommand), its "did you mean" kept on that line, and where the help is.
 */
export function usageErrorLine(error: CommanderError, program: Command, args: readonly string[]): string {
  const path = commandPath(program, args);
  const names = path.slice(1).map((command) => command.name());
  const where = names.length > 0 ? `${names.join(' ')}: ` : '';
  const help = `see \`${[NAME, ...names].join(' ')} --help\``;
  const leaf = path.at(-1) as Command;
  if (error.code === 'commander.help') {
    // A command that only groups others, given none of them.
    const choices = leaf.commands.map((command) => command.name());
    return `${NAME}: ${where}missing command${names.length > 0 ? ` (${choices.join(', ')})` : ''}; ${help}`;
  }
  const message = error.message
    .replace(/^error: /, '')
    .replace(
      /^too many arguments(?: for '[^']*')?\. Expected (\d+) arguments? but got (\d+)\.$/,
      'too many arguments (expected $1, got $2)',
    )
    .replace(/\.$/, '')
    .replace(/\n\(Did you mean (.+)\?\)$/, ' (did you mean $1?)')
    .replaceAll('\n', ' ');
  return `${NAME}: ${where}${message}; ${help}`;
}

/** Commander quotes a refused argument in single quotes: one longer than a short prefix is cut like any input. */
function clipSingleQuoted(line: string): string {
  return line.replace(/'([^']{41,})'/g, (_literal, value: string) => quoteInput(value));
}

export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug') || process.env.CHIME_LIFECYCLE_DEBUG === '1';
  const args = argv.slice(2);
  let program: Command | undefined;
  try {
    program = await buildProgram(args);
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError && program) {
      // --help and --version have printed what was asked for.
      if (error.exitCode === 0) return EXIT.ok;
      // Commander quotes the argument it refused: clipped and escaped like every other outside text.
      process.stderr.write(
        `${escapeControl(clipQuotedInputs(clipSingleQuoted(usageErrorLine(error, program, args))))}\n`,
      );
      return EXIT.usage;
    }
    const known = error instanceof CliError ? error : explainError(error);
    if (known) {
      process.stderr.write(`${NAME}: ${escapeControl(known.message, { keepNewlines: true })}\n`);
      if (debug && error instanceof Error && error.stack)
        process.stderr.write(`${escapeControl(error.stack, { keepNewlines: true })}\n`);
      return known.exitCode;
    }
    // Unexpected: still one line, with the hint on it rather than on a line of its own.
    const message = escapeControl(error instanceof Error ? error.message : String(error), {
      keepNewlines: true,
    });
    const firstLine = message.split('\n')[0] ?? '';
    if (debug && error instanceof Error && error.stack) {
      process.stderr.write(`${NAME}: ${message}\n${escapeControl(error.stack, { keepNewlines: true })}\n`);
    } else {
      process.stderr.write(`${NAME}: ${firstLine} (run with --debug for the stack trace)\n`);
    }
    return EXIT.failed;
  }
}
