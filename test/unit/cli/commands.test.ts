import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandName } from '../../../cli/commands/index';
import { buildProgram, usageErrorLine } from '../../../cli/main';

const NAMES = Object.keys(COMMANDS) as CommandName[];

describe('the light command table', () => {
  it.each(
    NAMES,
  )('%s: its module defines exactly that command, with the table’s description', async (name) => {
    const program = new Command('chime-lifecycle');
    (await COMMANDS[name].load()).register(program);
    expect(program.commands.map((command) => [command.name(), command.description()])).toEqual([
      [name, COMMANDS[name].description],
    ]);
  });

  it('defines in full only the command the arguments name (help <command> names it too)', async () => {
    const defined = (program: Command) =>
      program.commands
        .filter((command) => command.options.length > 0 || command.commands.length > 0)
        .map((command) => command.name());
    expect(defined(await buildProgram(['--help']))).toEqual([]);
    expect(defined(await buildProgram(['plna']))).toEqual([]);
    expect(defined(await buildProgram(['--debug', 'plan', '--tenant', 'x']))).toEqual(['plan']);
    expect(defined(await buildProgram(['help', 'policy']))).toEqual(['policy']);
    expect((await buildProgram([])).commands.map((command) => command.name())).toEqual(NAMES);
  });
});

describe('usage errors', () => {
  /** Parses as the CLI does and returns the one line main() would print. */
  async function lineFor(args: string[]): Promise<string> {
    const program = await buildProgram(args);
    const error = await program.parseAsync(['node', 'chime-lifecycle', ...args]).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(CommanderError);
    return usageErrorLine(error as CommanderError, program, args);
  }

  it.each([
    [[], 'chime-lifecycle: missing command; see `chime-lifecycle --help`'],
    [['plna'], "chime-lifecycle: unknown command 'plna' (did you mean plan?); see `chime-lifecycle --help`"],
    [['zzz'], "chime-lifecycle: unknown command 'zzz'; see `chime-lifecycle --help`"],
    [
      ['policy'],
      'chime-lifecycle: policy: missing command (validate, put, get, list, history); see `chime-lifecycle policy --help`',
    ],
    [
      ['policy', 'lits'],
      "chime-lifecycle: policy: unknown command 'lits' (did you mean list?); see `chime-lifecycle policy --help`",
    ],
    [
      ['plan', '--tenat', 'acme'],
      "chime-lifecycle: plan: unknown option '--tenat' (did you mean --tenant?); see `chime-lifecycle plan --help`",
    ],
    [
      ['report', '--html', 'r.html'],
      "chime-lifecycle: report: required option '--tenant <tenantId>' not specified; see `chime-lifecycle report --help`",
    ],
    [
      ['policy', 'get'],
      "chime-lifecycle: policy get: missing required argument 'tenantId'; see `chime-lifecycle policy get --help`",
    ],
    [
      ['policy', 'list', 'acme'],
      'chime-lifecycle: policy list: too many arguments (expected 0, got 1); see `chime-lifecycle policy list --help`',
    ],
  ])('%j → %s', async (args, expected) => {
    expect(await lineFor(args)).toBe(expected);
  });
});
