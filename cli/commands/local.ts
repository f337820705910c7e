import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import { LOCAL_PORTS } from '../../local/ports';
import { ensureQueues } from '../../local/queue-provisioning';
import { ensureTables } from '../../shared/aws/tables';
import { CliError, EXIT_INVALID } from '../errors';
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
type LocalStack = Awaited<ReturnType<typeof import('../../local/stack')['startLocalStack']>>;
type ChildDeath = Awaited<LocalStack['died']>;
type Instance = Awaited<ReturnType<typeof import('../../local/instance')['claimInstance']>>;

async function startLocal(options: StartOptions): Promise<void> {
  const settings = parseStartOptions(options);
  // Imported here: the local servers (fauxqs, the emulator) load only for this command.
  const { claimInstance, AlreadyRunningError } = await import('../../local/instance');
  const modules = {
    portOwner: await import('../../local/port-owner'),
    stack: await import('../../local/stack'),
  };

  // Refusals come before anything is touched: another start of this work directory, then taken ports.
  let instance: Instance;
  try {
    instance = await claimInstance(settings.workDir, settings.ports);
  } catch (error) {
    if (error instanceof AlreadyRunningError) throw new CliError(error.message);
    throw error;
  }
  const stack = await launchStack(options, settings, instance, modules);
  printRunning(options, settings, stack);

  // Ctrl-C (or SIGTERM) stops it; so does the death of a child it cannot run without, which is fatal: the
  // line names the child and how it ended, everything stops in order and the exit code is 1.
  const death = await new Promise<ChildDeath | undefined>((resolve) => {
    const shutdown = () => resolve(undefined);
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    void stack.died.then(resolve);
  });
  if (death) {
    console.error(
      `error  ${modules.stack.describeChildDeath(death)}: the offline system cannot run without it; stopping everything`,
    );
    process.exitCode = 1;
  }
  console.log('stopping...');
  const { interrupted } = await stack.stop();
  for (const invocation of interrupted) {
    const tenants = invocation.tenantIds.length > 0 ? ` (tenant ${invocation.tenantIds.join(', ')})` : '';
    const next = options.persist
      ? 'the next start with --persist resumes the run from its checkpoint'
      : 'this in-memory stack keeps no queue, so the next start begins afresh (--persist would resume it)';
    console.log(
      invocation.functionName === 'reconcile-tenant'
        ? `interrupted a running reconcile${tenants}: its message goes back to the queue and ${next}`
        : `interrupted ${invocation.functionName}${tenants}: its messages go back to the queue, which is not kept across starts (send them again: onboarding is idempotent)`,
    );
  }
  await instance.release();
  console.log('stopped.');
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
): Promise<LocalStack> {
  const { ports, functions, stateDir } = settings;
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
    console.log(
      'starting the offline system (DynamoDB Local, SQS, Chime emulator, EventBridge, functions)...',
    );
    return await startLocalStack({
      ports,
      quotaScale: settings.quotaScale,
      scheduleMinutes: settings.scheduleMinutes,
      demo: options.demo,
      functions,
      workDir: settings.workDir,
      ...(options.persist ? { persistDir: stateDir } : {}),
      onChildProcess: (child) => instance.addChild(child),
      ...(options.verbose ? { onServerlessOutput: (line: string) => console.log(`sls    ${line}`) } : {}),
      onEvent: (event) => {
        const detail = event.detail as Record<string, unknown>;
        const tenant = typeof detail.tenantId === 'string' ? ` tenant=${detail.tenantId}` : '';
        const state = typeof detail.state === 'string' ? ` state=${detail.state}` : '';
        console.log(`event  ${event.detailType}${tenant}${state}`);
      },
      onError: (source, error) =>
        console.error(`error  ${source}: ${error instanceof Error ? error.message : String(error)}`),
    });
  } catch (error) {
    await instance.release();
    if (error instanceof PortInUseError) throw new CliError(error.message);
    // A kept emulator state that does not hold: the line names the file and the field; nothing was changed.
    if (error instanceof modules.stack.StateFileError) throw new CliError(error.message, EXIT_INVALID);
    throw error;
  }
}

/** What runs where, the tenants, what is kept, and what to try next. */
function printRunning(options: StartOptions, settings: StartSettings, stack: LocalStack): void {
  const { ports, scheduleMinutes, stateDir, workDir } = settings;
  const rule = '-'.repeat(78);
  console.log(rule);
  console.log('chime-lifecycle is running offline');
  console.log(`  DynamoDB Local            ${stack.endpoints.dynamodb}`);
  console.log(`  SQS (fauxqs)              ${stack.endpoints.sqs}`);
  console.log(
    `  Chime SDK Identity        ${stack.endpoints.chime}  (emulator; admin API under /_emulator/)`,
  );
  console.log(`  EventBridge               ${stack.endpoints.eventbridge}  (events at /_events)`);
  console.log(
    `  STS                       ${stack.endpoints.sts}  (AssumeRole: tenants' roles in other accounts)`,
  );
  console.log(
    stack.functions === 'serverless-offline'
      ? `  Lambda (serverless-offline) http://localhost:${ports.lambda}  (Invoke API; functions chime-lifecycle-local-<name>)`
      : '  Lambda                    in-process (--functions in-process)',
  );
  console.log(
    '  functions                 schedule-sync (every ' +
      (scheduleMinutes > 0 ? `${scheduleMinutes} min` : 'never: off') +
      '), reconcile-tenant (reconcile queue), onboard-users (onboarding queue), policy-changed (policy stream)',
  );
  for (const tenant of stack.summary) {
    const users =
      tenant.users === undefined
        ? 'AppInstance missing in Chime'
        : `${String(tenant.users).padStart(4)} users in Chime`;
    const swept =
      tenant.sweptAtSeed > 0
        ? ` (${tenant.sweptAtSeed} more were seeded already expired: Chime's sweep deleted them)`
        : '';
    console.log(
      `  tenant ${tenant.tenantId.padEnd(9)} ${users}${swept}  ${tenant.region.padEnd(12)}  ${tenant.appInstanceArn}`,
    );
  }
  if (options.persist) {
    console.log(
      `  state                     kept in ${stateDir} (--persist; --reset wipes it): ` +
        (stack.restored ? `restored ${stack.summary.length} tenants` : 'nothing kept yet, started fresh'),
    );
    console.log(
      '  queues                    start empty: queued messages are not kept (the schedule and policy puts refill them)',
    );
    for (const run of stack.resumedRuns) {
      console.log(
        `  resumed                   the interrupted run ${run.runId} of tenant ${run.tenantId} from step ${run.step}`,
      );
    }
  } else {
    console.log('  state                     in memory only: a restart begins afresh (--persist keeps it)');
  }
  console.log(rule);
  console.log('point the CLI at it from another shell:');
  console.log('  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local');
  for (const [key, value] of Object.entries(stack.environment)) console.log(`  export ${key}=${value}`);
  const globexFile = path.relative(process.cwd(), path.join(workDir, 'policies', 'globex.json'));
  console.log('then try:');
  console.log('  npx chime-lifecycle policy list');
  console.log('  npx chime-lifecycle plan --tenant acme');
  console.log('  npx chime-lifecycle onboard --file examples/onboarding.jsonl');
  console.log(`  edit ${globexFile}, then: npx chime-lifecycle policy put ${globexFile}`);
  console.log('  npx chime-lifecycle sync --tenant initech --json');
  console.log(
    "  npx chime-lifecycle sync --tenant globex --approve-shortening   (globex's first run is held by its safety caps)",
  );
  console.log('  npx chime-lifecycle dlq list');
  console.log(rule);
  console.log('Ctrl-C stops everything.');
}
