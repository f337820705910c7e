import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import type { EventLines } from '../../local/event-lines';
import { LOCAL_PORTS } from '../../local/ports';
import { ensureQueues } from '../../local/queue-provisioning';
import type { Interrupted, LocalStack } from '../../local/stack';
import { ensureTables } from '../../shared/aws/tables';
import { CliError, EXIT, EXIT_INVALID } from '../errors';
import { positiveNumberOption } from '../options';
import { printJson, quoteInput } from '../output';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface StartOptions {
  readonly dynamodbPort: string;
  readonly sqsPort: string;
  readonly chimePort: string;
  readonly eventbridgePort: string;
  readonly stsPort: string;
  readonly quotaScale: string;
  readonly scheduleMinutes: string;
  readonly lambdaPort: string;
  readonly functions: string;
  readonly demo: boolean;
  readonly persist?: boolean;
  readonly reset?: boolean;
  readonly workDir: string;
  readonly verbose?: boolean;
}

export function register(program: Command): void {
  const local = addCommand(program, 'local');
  local
    .command('init')
    .description('create the tables, queues and event bus on the configured endpoints (idempotent)')
    .option('--json', 'print machine-readable output')
    .action(initLocal);

  local
    .command('start')
    .description('run the whole system offline on demo data (what `npm start` runs); Ctrl-C stops it')
    .option('--dynamodb-port <port>', 'DynamoDB Local port', String(LOCAL_PORTS.dynamodb))
    .option('--sqs-port <port>', 'SQS server port', String(LOCAL_PORTS.sqs))
    .option('--chime-port <port>', 'Chime SDK Identity emulator port', String(LOCAL_PORTS.chime))
    .option('--eventbridge-port <port>', 'EventBridge port', String(LOCAL_PORTS.eventbridge))
    .option('--lambda-port <port>', 'serverless-offline Lambda API port', String(LOCAL_PORTS.lambda))
    .option('--sts-port <port>', "local STS port (tenants' roles in other accounts)", String(LOCAL_PORTS.sts))
    .option(
      '--functions <mode>',
      'serverless-offline: the functions as serverless.yml builds them; in-process: imported here (faster start)',
      'serverless-offline',
    )
    .option('--quota-scale <k>', 'multiply every Chime quota (emulator and clients alike)', '1')
    .option('--schedule-minutes <n>', 'minutes between scheduled syncs (0: off)', '5')
    .option('--no-demo', 'start empty: no demo tenants, policies or users')
    .option(
      '--persist',
      'keep tables, runs and Chime users in <work-dir>/state across starts (queues still start empty)',
    )
    .option('--reset', 'wipe the state kept by --persist before starting')
    .option('--work-dir <dir>', 'where the pid file, demo policies and kept state live', '.local')
    .option('--verbose', "print serverless-offline's own output")
    .action(startLocal);
}

function portOption(flag: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new CliError(`${flag}: must be a port number 0-65535, got ${quoteInput(value)}`, EXIT_INVALID);
  }
  return port;
}

async function initLocal(options: { json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const tables = await ensureTables(runtime.dynamo, runtime.config);
    const queues = await ensureQueues(runtime.sqs, runtime.config);
    let busCreated = true;
    try {
      await runtime.eventBridge.send(new CreateEventBusCommand({ Name: runtime.config.eventBus }));
    } catch (error) {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
      busCreated = false;
    }
    if (options.json) {
      printJson({ tables, queues, eventBus: { name: runtime.config.eventBus, created: busCreated } });
      return;
    }
    for (const table of tables) {
      console.log(`table ${table.tableName}: ${table.created ? 'created' : 'already exists'}`);
    }
    for (const [kind, queue] of Object.entries(queues))
      console.log(`queue ${kind}: ${queue.url} (DLQ ${queue.deadLetterUrl})`);
    console.log(`event bus ${runtime.config.eventBus}: ${busCreated ? 'created' : 'already exists'}`);
  });
}

/** `local start`'s options, checked: a bad one is refused before anything starts. */
function parseStartOptions(options: StartOptions) {
  const ports = {
    dynamodb: portOption('--dynamodb-port', options.dynamodbPort),
    sqs: portOption('--sqs-port', options.sqsPort),
    chime: portOption('--chime-port', options.chimePort),
    eventbridge: portOption('--eventbridge-port', options.eventbridgePort),
    lambda: portOption('--lambda-port', options.lambdaPort),
    sts: portOption('--sts-port', options.stsPort),
  };
  if (options.functions !== 'serverless-offline' && options.functions !== 'in-process') {
    throw new CliError(
      `--functions: must be serverless-offline or in-process, got ${quoteInput(options.functions)}`,
      EXIT_INVALID,
    );
  }
  const functions: 'serverless-offline' | 'in-process' = options.functions;
  const quotaScale = positiveNumberOption('--quota-scale', options.quotaScale);
  const scheduleMinutes = Number(options.scheduleMinutes);
  if (!Number.isFinite(scheduleMinutes) || scheduleMinutes < 0) {
    throw new CliError(
      `--schedule-minutes: must be a number >= 0, got ${quoteInput(options.scheduleMinutes)}`,
      EXIT_INVALID,
    );
  }
  const workDir = path.resolve(options.workDir);
  const stateDir = path.join(workDir, 'state');
  return { ports, functions, quotaScale, scheduleMinutes, workDir, stateDir };
}

type StartSettings = ReturnType<typeof parseStartOptions>;
type Instance = Awaited<ReturnType<typeof import('../../local/instance')['claimInstance']>>;

async function startLocal(options: StartOptions): Promise<void> {
  // First of all: from here on a Ctrl-C never meets Node's default (exit 130, nothing stopped, the pid file
  // left behind), whatever moment it comes at.
  const signals = new StopSignals();
  try {
    await runLocal(options, parseStartOptions(options), signals);
  } finally {
    signals.dispose();
  }
}

async function runLocal(options: StartOptions, settings: StartSettings, signals: StopSignals): Promise<void> {
  // Imported here: the local servers (fauxqs, the emulator) load only for this command.
  const { claimInstance, AlreadyRunningError } = await import('../../local/instance');
  const modules = {
    portOwner: await import('../../local/port-owner'),
    stack: await import('../../local/stack'),
    events: await import('../../local/event-lines'),
    banner: await import('../../local/banner'),
  };

  // Refusals come before anything is touched: another start of this work directory, then taken ports.
  let instance: Instance;
  try {
    instance = await claimInstance(settings.workDir, settings.ports);
  } catch (error) {
    if (error instanceof AlreadyRunningError) throw new CliError(error.message);
    throw error;
  }
  if (signals.received) {
    // Before anything was started.
    await instance.release();
    console.log(`stopped during start-up (${signalName(await signals.first)}): nothing had been started`);
    return;
  }
  const tenants = new Map<string, string>();
  const events = new modules.events.EventLines({
    print: (line) => console.log(line),
    tenantOf: (appInstanceArn) => tenants.get(appInstanceArn),
  });
  const abort = new AbortController();
  const launching = launchStack(options, settings, instance, modules, { events, signal: abort.signal });
  const first = await Promise.race([
    launching.then((stack) => ({ stack })),
    signals.first.then((signal) => ({ signal })),
  ]);
  if ('signal' in first) {
    events.stop();
    abort.abort();
    const settled = await stopDuringStartUp(instance, launching);
    console.log(`stopped during start-up (${signalName(first.signal)}): nothing it started is left running`);
    // A step that did not end within the wait must not keep this process alive: its children are gone.
    if (!settled) process.exit(EXIT.ok);
    return;
  }
  const { stack } = first;
  for (const tenant of stack.summary) tenants.set(tenant.appInstanceArn, tenant.tenantId);
  for (const line of modules.banner.bannerLines({
    stack,
    lambdaPort: settings.ports.lambda,
    persist: options.persist === true,
    stateDir: settings.stateDir,
    cwd: process.cwd(),
  }))
    console.log(line);
  events.start();

  // Ctrl-C (or SIGTERM) stops it; so does the death of a child it cannot run without, which is fatal: the
  // line names the child and how it ended, everything stops in order and the exit code is 1.
  const death = await Promise.race([signals.first.then(() => undefined), stack.died]);
  events.stop();
  if (death) {
    console.error(
      `error  ${modules.stack.describeChildDeath(death)}: the offline system cannot run without it; stopping everything`,
    );
    process.exitCode = 1;
  }
  console.log('stopping...');
  // A second Ctrl-C while stopping does not wait for the orderly stop: it stops the children at once.
  signals.onAnother(async () => {
    await instance.stopChildren();
    await instance.release();
    console.log('stopped at once (a second signal while stopping)');
    process.exit(EXIT.ok);
  });
  const { interrupted } = await stack.stop();
  for (const line of interruptedLines(interrupted, options.persist === true)) console.log(line);
  await instance.release();
  console.log('stopped.');
  // An in-process invocation that was interrupted is abandoned, not awaited (its messages go back to their
  // queue): it must not keep this process alive, nor print after the last line. Writes to a pipe or a
  // terminal are synchronous on Linux and macOS, so everything above is out.
  process.exit(Number(process.exitCode ?? EXIT.ok));
}

/**
 * A start interrupted by a signal: the children recorded so far are stopped at once (so the step in hand
 * fails fast and no port stays held), the start is given a moment to stop what it started in this process,
 * then whatever it spawned meanwhile is stopped too, and the pid file removed. False when the start had
 * not settled within the wait.
 */
async function stopDuringStartUp(instance: Instance, launching: Promise<LocalStack>): Promise<boolean> {
  await instance.stopChildren();
  const settled = await Promise.race([
    launching.then(
      (stack) => stack,
      () => 'failed' as const,
    ),
    new Promise<'waiting'>((resolve) => setTimeout(resolve, 20_000, 'waiting').unref()),
  ]);
  // Up just as the signal came: stopped like any running stack.
  if (typeof settled === 'object') await settled.stop();
  await instance.stopChildren();
  await instance.release();
  return settled !== 'waiting';
}

function interruptedLines(interrupted: readonly Interrupted[], persist: boolean): string[] {
  return interrupted.map((invocation) => {
    const tenants = invocation.tenantIds.length > 0 ? ` (tenant ${invocation.tenantIds.join(', ')})` : '';
    const next = persist
      ? 'the next start with --persist resumes the run from its checkpoint'
      : 'this in-memory stack keeps no queue, so the next start begins afresh (--persist would resume it)';
    return invocation.functionName === 'reconcile-tenant'
      ? `interrupted a running reconcile${tenants}: its message goes back to the queue and ${next}`
      : `interrupted ${invocation.functionName}${tenants}: its messages go back to the queue, which is not kept across starts (send them again: onboarding is idempotent)`;
  });
}

const signalName = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 'Ctrl-C' : signal);

/** SIGINT and SIGTERM, held from the moment `local start` begins until it is done. */
class StopSignals {
  readonly first: Promise<NodeJS.Signals>;
  #received = 0;
  #resolve: (signal: NodeJS.Signals) => void = () => undefined;
  #another: (() => Promise<void>) | undefined;
  readonly #handler = (signal: NodeJS.Signals) => {
    this.#received++;
    if (this.#received === 1) this.#resolve(signal);
    else void this.#another?.();
  };

  constructor() {
    this.first = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    process.on('SIGINT', this.#handler);
    process.on('SIGTERM', this.#handler);
  }

  get received(): boolean {
    return this.#received > 0;
  }

  /** What a signal after the first does (nothing, until set). */
  onAnother(action: () => Promise<void>): void {
    this.#another = action;
  }

  dispose(): void {
    process.off('SIGINT', this.#handler);
    process.off('SIGTERM', this.#handler);
  }
}

/** Checks the ports and starts the stack; on any failure the claimed instance is released. */
async function launchStack(
  options: StartOptions,
  settings: StartSettings,
  instance: Instance,
  modules: {
    readonly portOwner: typeof import('../../local/port-owner');
    readonly stack: typeof import('../../local/stack');
  },
  started: { readonly events: EventLines; readonly signal: AbortSignal },
): Promise<LocalStack> {
  const { ports, functions, stateDir } = settings;
  const { events, signal } = started;
  /** After a signal the start's one line is all there is: what the stack reports on its way down is not news. */
  const print = (line: string) => {
    if (!signal.aborted) console.log(line);
  };
  const { assertPortsFree, PortInUseError, PortsInUseError } = modules.portOwner;
  const { startLocalStack } = modules.stack;
  try {
    if (instance.stale) {
      const left =
        instance.leftovers.length === 0
          ? 'none of its processes was still running'
          : `stopped what it left running: ${instance.leftovers.map((l) => `${l.name} (pid ${l.pid})`).join(', ')}`;
      console.log(
        `an earlier start (pid ${instance.stale.pid}, started ${instance.stale.startedAt}) ended without stopping; ${left}`,
      );
    }
    try {
      await assertPortsFree(
        [
          { service: 'DynamoDB Local', port: ports.dynamodb, flag: '--dynamodb-port' },
          { service: 'the SQS server', port: ports.sqs, flag: '--sqs-port' },
          { service: 'the Chime emulator', port: ports.chime, flag: '--chime-port' },
          { service: 'the local EventBridge', port: ports.eventbridge, flag: '--eventbridge-port' },
          { service: 'the local STS', port: ports.sts, flag: '--sts-port' },
          ...(functions === 'serverless-offline'
            ? [{ service: 'serverless offline (Lambda API)', port: ports.lambda, flag: '--lambda-port' }]
            : []),
        ],
        ['127.0.0.1', '::1'],
      );
    } catch (error) {
      if (error instanceof PortInUseError || error instanceof PortsInUseError)
        throw new CliError(error.message);
      throw error;
    }
    if (options.reset) {
      await rm(stateDir, { recursive: true, force: true });
      console.log(`--reset: wiped the kept state in ${stateDir}`);
    }
    signal.throwIfAborted();
    console.log(
      'starting the offline system (DynamoDB Local, SQS, Chime emulator, EventBridge, functions)...',
    );
    return await startLocalStack({
      signal,
      ports,
      quotaScale: settings.quotaScale,
      scheduleMinutes: settings.scheduleMinutes,
      demo: options.demo,
      functions,
      workDir: settings.workDir,
      ...(options.persist ? { persistDir: stateDir } : {}),
      onChildProcess: (child) => instance.addChild(child),
      ...(options.verbose ? { onServerlessOutput: (line: string) => print(`sls    ${line}`) } : {}),
      onEvent: events.onEvent,
      onError: (source, error) => {
        if (!signal.aborted)
          console.error(`error  ${source}: ${error instanceof Error ? error.message : String(error)}`);
      },
    });
  } catch (error) {
    // Interrupted: the signal's handler stops the children and releases the instance, once the start settled.
    if (signal.aborted) throw error;
    await instance.release();
    if (error instanceof PortInUseError) throw new CliError(error.message);
    // A kept emulator state that does not hold: the line names the file and the field; nothing was changed.
    if (error instanceof modules.stack.StateFileError) throw new CliError(error.message, EXIT_INVALID);
    throw error;
  }
}
