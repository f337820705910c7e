import path from 'node:path';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import { LOCAL_PORTS } from '../../local/ports';
import { ensureQueues } from '../../local/queue-provisioning';
import { ensureTables } from '../../shared/aws/tables';
import { CliError, EXIT_INVALID } from '../errors';
import { positiveNumberOption } from '../options';
import { printJson } from '../output';
import { withRuntime } from '../with-runtime';

interface StartOptions {
  readonly dynamodbPort: string;
  readonly sqsPort: string;
  readonly chimePort: string;
  readonly eventbridgePort: string;
  readonly quotaScale: string;
  readonly scheduleMinutes: string;
  readonly lambdaPort: string;
  readonly functions: string;
  readonly demo: boolean;
  readonly verbose?: boolean;
}

export function register(program: Command): void {
  const local = program.command('local').description('set up and run the offline system');
  local
    .command('init')
    .description('create the tables, queues and event bus on the configured endpoints (idempotent)')
    .option('--json', 'print machine-readable output')
    .action(async (options: { json?: boolean }) => {
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
    });

  local
    .command('start')
    .description('run the whole system offline on demo data (what `npm start` runs); Ctrl-C stops it')
    .option('--dynamodb-port <port>', 'DynamoDB Local port', String(LOCAL_PORTS.dynamodb))
    .option('--sqs-port <port>', 'SQS server port', String(LOCAL_PORTS.sqs))
    .option('--chime-port <port>', 'Chime SDK Identity emulator port', String(LOCAL_PORTS.chime))
    .option('--eventbridge-port <port>', 'EventBridge port', String(LOCAL_PORTS.eventbridge))
    .option('--lambda-port <port>', 'serverless-offline Lambda API port', String(LOCAL_PORTS.lambda))
    .option(
      '--functions <mode>',
      'serverless-offline: the functions as serverless.yml builds them; in-process: imported here (faster start)',
      'serverless-offline',
    )
    .option('--quota-scale <k>', 'multiply every Chime quota (emulator and clients alike)', '1')
    .option('--schedule-minutes <n>', 'minutes between scheduled syncs (0: off)', '5')
    .option('--no-demo', 'start empty: no demo tenants, policies or users')
    .option('--verbose', "print serverless-offline's own output")
    .action(async (options: StartOptions) => {
      const ports = {
        dynamodb: portOption('--dynamodb-port', options.dynamodbPort),
        sqs: portOption('--sqs-port', options.sqsPort),
        chime: portOption('--chime-port', options.chimePort),
        eventbridge: portOption('--eventbridge-port', options.eventbridgePort),
        lambda: portOption('--lambda-port', options.lambdaPort),
      };
      if (options.functions !== 'serverless-offline' && options.functions !== 'in-process') {
        throw new CliError(
          `--functions: must be serverless-offline or in-process, got "${options.functions}"`,
          EXIT_INVALID,
        );
      }
      const functions = options.functions;
      const quotaScale = positiveNumberOption('--quota-scale', options.quotaScale);
      const scheduleMinutes = Number(options.scheduleMinutes);
      if (!Number.isFinite(scheduleMinutes) || scheduleMinutes < 0) {
        throw new CliError(
          `--schedule-minutes: must be a number >= 0, got "${options.scheduleMinutes}"`,
          EXIT_INVALID,
        );
      }
      const workDir = path.resolve('.local');
      console.log(
        'starting the offline system (DynamoDB Local, SQS, Chime emulator, EventBridge, functions)...',
      );
      // Imported here: the local servers (fauxqs, the emulator) load only for this command.
      const { startLocalStack } = await import('../../local/stack');
      const stack = await startLocalStack({
        ports,
        quotaScale,
        scheduleMinutes,
        demo: options.demo,
        functions,
        workDir,
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
        stack.functions === 'serverless-offline'
          ? `  Lambda (serverless-offline) http://localhost:${ports.lambda}  (Invoke API; functions chime-lifecycle-local-<name>)`
          : '  Lambda                    in-process (--functions in-process)',
      );
      console.log(
        '  functions                 schedule-sync (every ' +
          (scheduleMinutes > 0 ? `${scheduleMinutes} min` : 'never: off') +
          '), reconcile-tenant (reconcile queue), onboard-users (onboarding queue), policy-changed (policy stream)',
      );
      for (const tenant of stack.tenants) {
        console.log(
          `  tenant ${tenant.tenantId.padEnd(9)} ${String(tenant.users).padStart(4)} users  ${tenant.appInstanceArn}`,
        );
      }
      console.log(rule);
      console.log('point the CLI at it from another shell:');
      console.log('  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local');
      for (const [key, value] of Object.entries(stack.environment)) console.log(`  export ${key}=${value}`);
      console.log('then try:');
      console.log('  npx chime-lifecycle policy list');
      console.log('  npx chime-lifecycle plan --tenant acme');
      console.log('  npx chime-lifecycle onboard --file examples/onboarding.jsonl');
      console.log(
        `  edit .local/policies/globex.json, then: npx chime-lifecycle policy put .local/policies/globex.json`,
      );
      console.log('  npx chime-lifecycle sync --tenant initech --json');
      console.log(
        "  npx chime-lifecycle sync --tenant globex --approve-shortening   (globex's first run is held by its safety caps)",
      );
      console.log('  npx chime-lifecycle dlq list');
      console.log(rule);
      console.log('Ctrl-C stops everything.');

      await new Promise<void>((resolve) => {
        const shutdown = () => resolve();
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
      console.log('stopping...');
      await stack.stop();
      console.log('stopped.');
    });
}

function portOption(flag: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new CliError(`${flag}: must be a port number 0-65535, got "${value}"`, EXIT_INVALID);
  }
  return port;
}
