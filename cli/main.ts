import { Command, CommanderError } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { CliError } from './errors';
import { explainError } from './explain-error';
import { escapeControl } from './output';

/** Builds the `chime-lifecycle` program; each subcommand lives in its own module under `cli/commands/`. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('chime-lifecycle')
    .description(
      'Keeps Amazon Chime SDK Identity AppInstanceUser expiration in line with per-tenant policies',
    )
    .version(packageJson.version, '-V, --version', 'print the version and exit')
    .option('--debug', 'print stack traces for errors')
    .showHelpAfterError()
    // Commander quotes the argument it refuses: escaped like every other outside text.
    .configureOutput({ outputError: (text, write) => write(escapeControl(text, { keepNewlines: true })) })
    .exitOverride();
  const modules = await Promise.all([
    import('./commands/emulator'),
    import('./commands/local'),
    import('./commands/policy'),
    import('./commands/plan'),
    import('./commands/report'),
    import('./commands/sync'),
    import('./commands/dlq'),
    import('./commands/onboard'),
    import('./commands/worker'),
    import('./commands/expiring'),
    import('./commands/activity'),
    import('./commands/exemptions'),
    import('./commands/explain'),
  ]);
  for (const module of modules) module.register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug') || process.env.CHIME_LIFECYCLE_DEBUG === '1';
  try {
    const program = await buildProgram();
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the problem (or the help/version text).
      return error.exitCode === 0 ? 0 : 2;
    }
    const known = error instanceof CliError ? error : explainError(error);
    if (known) {
      process.stderr.write(`chime-lifecycle: ${escapeControl(known.message, { keepNewlines: true })}\n`);
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
      process.stderr.write(
        `chime-lifecycle: ${message}\n${escapeControl(error.stack, { keepNewlines: true })}\n`,
      );
    } else {
      process.stderr.write(`chime-lifecycle: ${firstLine} (run with --debug for the stack trace)\n`);
    }
    return 1;
  }
}
