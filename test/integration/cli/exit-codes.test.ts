import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, type CommandName } from '../../../cli/commands/index';
import { EXIT } from '../../../cli/errors';
import { policyDocument } from '../../fixtures/policies';
import { days, seedTenant } from '../../support/chime';
import { type CliResult, type CliStack, runCli, startCliStack } from './harness';

/**
 * Issue 21: every error is one line `chime-lifecycle: ...` on stderr (with "did you mean" where Commander has
 * a suggestion, never the help), and each kind of error has one exit code, the same in every command. The
 * real binary against one stack for the whole table; `unreachable` rows point every endpoint at a closed
 * port instead.
 */
interface Row {
  readonly args: readonly string[];
  readonly exit: number;
  /** Part of the one line the command must print on stderr. */
  readonly says: string;
  readonly unreachable?: true;
}

const KNOWN = 'known';
/** Placeholders filled in once the stack and its files exist. */
const MISSING_FILE = '<missing-file>';
const POLICY_FILE = '<policy-file>';
const JSON_FILE = '<json-file>';
const EVENTS_FILE = '<events-file>';
const HTML_FILE = '<html-file>';
const HELD_PORT = '<held-port>';
const FREE_PORT = '<free-port>';
const WORK_DIR = '<work-dir>';

const { usage, notFound, failed, conflict } = EXIT;
const seeHelp = (command: string) => `; see \`chime-lifecycle${command ? ` ${command}` : ''} --help\``;

const ROWS: readonly Row[] = [
  // The program itself.
  { args: [], exit: usage, says: `missing command${seeHelp('')}` },
  { args: ['plna'], exit: usage, says: `unknown command 'plna' (did you mean plan?)${seeHelp('')}` },
  { args: ['--verison'], exit: usage, says: `unknown option '--verison' (did you mean --version?)` },
  // emulator
  {
    args: ['emulator', '--prot', '0'],
    exit: usage,
    says: `emulator: unknown option '--prot' (did you mean --port?)${seeHelp('emulator')}`,
  },
  { args: ['emulator', '--port', 'x'], exit: usage, says: '--port must be an integer between 0 and 65535' },
  { args: ['emulator', '--port', HELD_PORT], exit: failed, says: 'for the emulator is already in use' },
  // local
  { args: ['local'], exit: usage, says: `local: missing command (init, start)${seeHelp('local')}` },
  {
    args: ['local', 'init', '--jsn'],
    exit: usage,
    says: "local init: unknown option '--jsn' (did you mean --json?)",
  },
  { args: ['local', 'init'], exit: failed, says: 'cannot reach DynamoDB at', unreachable: true },
  {
    args: ['local', 'start', '--dynamodb-prot', '1'],
    exit: usage,
    says: "local start: unknown option '--dynamodb-prot' (did you mean --dynamodb-port?)",
  },
  {
    args: ['local', 'start', '--functions', 'lambda'],
    exit: usage,
    says: '--functions: must be serverless-offline or in-process',
  },
  {
    args: [
      'local',
      'start',
      '--work-dir',
      WORK_DIR,
      '--dynamodb-port',
      HELD_PORT,
      '--sqs-port',
      FREE_PORT,
      '--chime-port',
      FREE_PORT,
      '--eventbridge-port',
      FREE_PORT,
      '--lambda-port',
      FREE_PORT,
    ],
    exit: failed,
    says: 'for DynamoDB Local is already in use',
  },
  // policy
  {
    args: ['policy'],
    exit: usage,
    says: `policy: missing command (validate, put, get, list, history)${seeHelp('policy')}`,
  },
  { args: ['policy', 'lst'], exit: usage, says: "policy: unknown command 'lst' (did you mean list?)" },
  {
    args: ['policy', 'validate'],
    exit: usage,
    says: `policy validate: missing required argument 'file'${seeHelp('policy validate')}`,
  },
  { args: ['policy', 'validate', MISSING_FILE], exit: usage, says: 'cannot read policy file' },
  { args: ['policy', 'put', MISSING_FILE], exit: usage, says: 'cannot read policy file' },
  {
    args: ['policy', 'put', POLICY_FILE, '--expected-versoin', '1'],
    exit: usage,
    says: "policy put: unknown option '--expected-versoin' (did you mean --expected-version?)",
  },
  {
    args: ['policy', 'put', POLICY_FILE, '--expected-version', '7'],
    exit: conflict,
    says: `tenant ${KNOWN} is at version 1, not 7; nothing written`,
  },
  { args: ['policy', 'put', POLICY_FILE], exit: failed, says: 'cannot reach DynamoDB at', unreachable: true },
  { args: ['policy', 'get'], exit: usage, says: "policy get: missing required argument 'tenantId'" },
  { args: ['policy', 'get', '../x'], exit: usage, says: 'tenantId: must be 1-64 characters' },
  {
    args: ['policy', 'get', 'nobody'],
    exit: notFound,
    says: 'unknown tenant nobody: no policy is stored for it; `chime-lifecycle policy list` shows the tenants that have one',
  },
  {
    args: ['policy', 'list', 'extra'],
    exit: usage,
    says: 'policy list: too many arguments (expected 0, got 1)',
  },
  { args: ['policy', 'list'], exit: failed, says: 'cannot reach DynamoDB at', unreachable: true },
  { args: ['policy', 'history', 'nobody'], exit: notFound, says: 'unknown tenant nobody' },
  {
    args: ['policy', 'history', '--jsno', KNOWN],
    exit: usage,
    says: "policy history: unknown option '--jsno' (did you mean --json?)",
  },
  // plan
  { args: ['plan'], exit: usage, says: '--tenant: required (or give --policy <file>)' },
  {
    args: ['plan', '--tenat', KNOWN],
    exit: usage,
    says: `plan: unknown option '--tenat' (did you mean --tenant?)${seeHelp('plan')}`,
  },
  { args: ['plan', '--tenant'], exit: usage, says: "plan: option '--tenant <tenantId>' argument missing" },
  {
    args: ['plan', '--tenant', KNOWN, '--format', 'html'],
    exit: usage,
    says: '--format: must be one of text, json, markdown',
  },
  { args: ['plan', '--tenant', 'nobody'], exit: notFound, says: 'unknown tenant nobody' },
  { args: ['plan', '--tenant', KNOWN], exit: failed, says: 'cannot reach DynamoDB at', unreachable: true },
  // report
  {
    args: ['report', '--tenant', KNOWN],
    exit: usage,
    says: "report: required option '--html <file>' not specified",
  },
  {
    args: ['report', '--tenant', KNOWN, '--html', HTML_FILE, '--quota-scale', '0'],
    exit: usage,
    says: '--quota-scale: must be a number greater than 0',
  },
  {
    args: ['report', '--tenant', 'nobody', '--html', HTML_FILE],
    exit: notFound,
    says: 'unknown tenant nobody',
  },
  // sync
  { args: ['sync', '--approve-shortening'], exit: usage, says: '--approve-shortening: needs --tenant' },
  {
    args: ['sync', '--tenat', KNOWN],
    exit: usage,
    says: "sync: unknown option '--tenat' (did you mean --tenant?)",
  },
  { args: ['sync', '--tenant', 'nobody'], exit: notFound, says: 'unknown tenant nobody' },
  {
    args: ['sync', '--tenant', 'nobody', '--apply', JSON_FILE],
    exit: notFound,
    says: 'unknown tenant nobody',
  },
  {
    args: ['sync', '--tenant', KNOWN, '--apply', MISSING_FILE],
    exit: usage,
    says: '--apply: cannot read plan file',
  },
  { args: ['sync'], exit: failed, says: 'cannot reach DynamoDB at', unreachable: true },
  // dlq
  { args: ['dlq'], exit: usage, says: `dlq: missing command (list, redrive)${seeHelp('dlq')}` },
  {
    args: ['dlq', 'list', '--queue', 'nope'],
    exit: usage,
    says: '--queue must be one of onboarding, reconcile, activity',
  },
  { args: ['dlq', 'list'], exit: failed, says: 'cannot reach ', unreachable: true },
  {
    args: ['dlq', 'redrive', '--max', '0'],
    exit: usage,
    says: '--max must be a whole number from 1 to 1000',
  },
  {
    args: ['dlq', 'redrive', '--mux', '1'],
    exit: usage,
    says: "dlq redrive: unknown option '--mux' (did you mean --max?)",
  },
  { args: ['dlq', 'redrive'], exit: failed, says: 'cannot reach ', unreachable: true },
  // onboard
  { args: ['onboard'], exit: usage, says: "onboard: required option '--file <users.jsonl>' not specified" },
  { args: ['onboard', '--file', MISSING_FILE], exit: usage, says: '--file: cannot read' },
  { args: ['onboard', '--file', EVENTS_FILE], exit: failed, says: 'cannot reach ', unreachable: true },
  // worker
  { args: ['worker'], exit: usage, says: "worker: required option '--queue <queue>' not specified" },
  {
    args: ['worker', '--queue', 'nope'],
    exit: usage,
    says: '--queue: must be onboarding or reconcile or activity',
  },
  {
    args: ['worker', '--queue', 'onboarding', '--batch-size', '0'],
    exit: usage,
    says: '--batch-size: must be a whole number greater than 0',
  },
  { args: ['worker', '--queue', 'onboarding'], exit: failed, says: 'cannot reach ', unreachable: true },
  // expiring
  { args: ['expiring'], exit: usage, says: "expiring: required option '--tenant <tenantId>' not specified" },
  {
    args: ['expiring', '--tenant', KNOWN, '--within', 'soon'],
    exit: usage,
    says: '--within: must be a positive duration',
  },
  { args: ['expiring', '--tenant', 'nobody'], exit: notFound, says: 'unknown tenant nobody' },
  {
    args: ['expiring', '--tenant', KNOWN],
    exit: failed,
    says: 'cannot reach DynamoDB at',
    unreachable: true,
  },
  // activity
  {
    args: ['activity'],
    exit: usage,
    says: "activity: required option '--file <events.jsonl>' not specified",
  },
  { args: ['activity', '--file', MISSING_FILE], exit: usage, says: '--file: cannot read' },
  {
    args: ['activity', '--file', EVENTS_FILE],
    exit: failed,
    says: 'cannot reach DynamoDB at',
    unreachable: true,
  },
  // exemptions
  { args: ['exemptions'], exit: usage, says: '--tenant: required' },
  { args: ['exemptions', '--tenant', 'nobody'], exit: notFound, says: 'unknown tenant nobody' },
  {
    args: ['exemptions', '--tenant', KNOWN],
    exit: failed,
    says: 'cannot reach DynamoDB at',
    unreachable: true,
  },
  // explain
  { args: ['explain', '--tenant', KNOWN], exit: usage, says: '--user: required' },
  {
    args: ['explain', '--tenant', KNOWN, '--usr', 'guest-1'],
    exit: usage,
    says: "explain: unknown option '--usr' (did you mean --user?)",
  },
  {
    args: ['explain', '--tenant', 'nobody', '--user', 'guest-1'],
    exit: notFound,
    says: 'unknown tenant nobody',
  },
  { args: ['explain', '--tenant', KNOWN, '--user', 'nobody'], exit: notFound, says: 'unknown user nobody' },
];

/** Every leaf command of the real program (`policy get`, `plan`, ...), from every command module. */
async function leafCommands(): Promise<{ path: string; takesTenant: boolean }[]> {
  const program = new Command('chime-lifecycle');
  for (const name of Object.keys(COMMANDS) as CommandName[]) (await COMMANDS[name].load()).register(program);
  const leaves: { path: string; takesTenant: boolean }[] = [];
  const walk = (command: Command, path: readonly string[]) => {
    if (command.commands.length === 0) {
      const takesTenant =
        command.options.some((option) => option.long === '--tenant') ||
        command.registeredArguments.some((argument) => argument.name() === 'tenantId');
      leaves.push({ path: path.join(' '), takesTenant });
    }
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  for (const command of program.commands) walk(command, [command.name()]);
  return leaves;
}

/** Listens on a free port (so it is taken), or just finds one (listen, then close). */
async function listen(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
const portOf = (server: Server) => String((server.address() as { port: number }).port);

describe('exit codes and one-line errors, every command', { timeout: 600_000 }, () => {
  let stack: CliStack;
  let held: Server;
  let closed: string;
  let files: Record<string, string>;

  beforeAll(async () => {
    stack = await startCliStack();
    held = await listen();
    const released = await listen();
    closed = portOf(released);
    await new Promise((resolve) => released.close(resolve));
    const arn = seedTenant(stack.emulator, [{ appInstanceUserId: 'guest-1', ageMs: days(1) }], KNOWN);
    const policyFile = await stack.write('known.json', policyDocument(KNOWN, arn));
    const put = await stack.cli('policy', 'put', policyFile);
    expect(put.code, put.stderr).toBe(0);
    files = {
      [MISSING_FILE]: path.join(stack.dir, 'no-such-file.json'),
      [POLICY_FILE]: policyFile,
      [JSON_FILE]: await stack.write('plan.json', {}),
      [EVENTS_FILE]: await stack.write(
        'events.jsonl',
        `${JSON.stringify({ tenantId: KNOWN, appInstanceUserId: 'guest-1', at: new Date().toISOString() })}\n`,
      ),
      [HTML_FILE]: path.join(stack.dir, 'report.html'),
      [WORK_DIR]: path.join(stack.dir, 'work'),
    };
  });
  afterAll(async () => {
    await new Promise((resolve) => held?.close(resolve));
    await stack?.close();
  });

  async function run(row: Row): Promise<CliResult> {
    const args = await Promise.all(
      row.args.map(async (arg) => {
        if (arg === HELD_PORT) return portOf(held);
        if (arg === FREE_PORT) {
          const server = await listen();
          const port = portOf(server);
          await new Promise((resolve) => server.close(resolve));
          return port;
        }
        return files[arg] ?? arg;
      }),
    );
    if (!row.unreachable) return stack.cli(...args);
    const nowhere = `http://127.0.0.1:${closed}`;
    return runCli(
      {
        ...stack.env,
        AWS_ENDPOINT_URL_DYNAMODB: nowhere,
        AWS_ENDPOINT_URL_DYNAMODB_STREAMS: nowhere,
        AWS_ENDPOINT_URL_SQS: nowhere,
        AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY: nowhere,
        AWS_ENDPOINT_URL_EVENTBRIDGE: nowhere,
      },
      args,
    );
  }

  // A few rows at a time (Vitest's maxConcurrency): most of a row is a process starting or an SDK retrying.
  it.concurrent.for(ROWS.map((row) => [row.args.join(' ') || '(no arguments)', row] as const))('%s', async ([
    ,
    row,
  ], { expect }) => {
    const result = await run(row);
    expect(result.code, result.stderr).toBe(row.exit);
    // One line, the program's name first, nothing on stdout, no help and no stack trace.
    expect(result.stderr).toMatch(/^chime-lifecycle: [^\n]+\n$/);
    expect(result.stderr).toContain(row.says);
    expect(result.stdout).toBe('');
  });

  it('has rows for every command: a usage error each, and an unknown tenant for each that takes one', async () => {
    const leaves = await leafCommands();
    expect(leaves.length).toBeGreaterThan(15);
    const rowsOf = (leaf: string) => ROWS.filter((row) => `${row.args.join(' ')} `.startsWith(`${leaf} `));
    for (const leaf of leaves) {
      const rows = rowsOf(leaf.path);
      expect(
        rows.some((row) => row.exit === usage),
        `${leaf.path}: a usage error`,
      ).toBe(true);
      if (leaf.takesTenant) {
        expect(
          rows.some((row) => row.exit === notFound && row.says.startsWith('unknown tenant nobody')),
          `${leaf.path}: an unknown tenant`,
        ).toBe(true);
      }
    }
  });

  it('prints the help only when asked, on stdout, and nothing on stderr', async () => {
    for (const args of [
      ['--help'],
      ['help'],
      ['plan', '--help'],
      ['help', 'policy'],
      ['policy', 'get', '--help'],
    ]) {
      const result = await stack.cli(...args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.stdout, args.join(' ')).toMatch(/^Usage: chime-lifecycle/);
    }
  });
});
