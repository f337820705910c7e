import path from 'node:path';
import type { LocalStack } from './stack';
import type { LocalFunctionWiring } from './stack-wiring';

/**
 * What `local start` prints once the stack is up: what runs where, every function and its trigger (from the
 * same wiring the stack runs), the tenants, the demo's policy files, what is kept, the variables that point
 * the CLI at the stack, and what to try. Pure: it only lays out what it is given.
 */

export interface BannerInput {
  readonly stack: Pick<
    LocalStack,
    | 'endpoints'
    | 'functions'
    | 'wiring'
    | 'summary'
    | 'restored'
    | 'resumedRuns'
    | 'environment'
    | 'policyFiles'
  >;
  readonly lambdaPort: number;
  /** --persist: state kept in `stateDir`. */
  readonly persist: boolean;
  readonly stateDir: string;
  /** File names are shown relative to this directory (the shell's). */
  readonly cwd: string;
}

const RULE = '-'.repeat(78);
const INDENT = ' '.repeat(28);

/** `  label                     text`: the banner's two columns. */
function row(label: string, text: string): string {
  return `  ${label.padEnd(25)} ${text}`;
}

/** How a function is triggered locally, from its wiring. */
export function triggerText(trigger: LocalFunctionWiring['trigger']): string {
  switch (trigger.kind) {
    case 'sqs':
      return `${trigger.queue} queue (batch ${trigger.batchSize}, window ${trigger.maximumBatchingWindowSeconds} s, concurrency ${trigger.concurrency})`;
    case 'stream':
      return `${trigger.table} stream`;
    case 'schedule':
      return trigger.everyMinutes > 0
        ? `every ${trigger.everyMinutes} min (deployed: ${trigger.rate})`
        : `off here (--schedule-minutes 0; deployed: ${trigger.rate})`;
    case 'rule': {
      const source = trigger.pattern.source;
      const from = Array.isArray(source) ? ` (source ${source.join(', ')})` : '';
      return `EventBridge rule on the ${trigger.eventBusName} bus${from}`;
    }
  }
}

export function bannerLines(input: BannerInput): string[] {
  const { stack } = input;
  const relative = (file: string) => path.relative(input.cwd, file) || file;
  const lines = [
    RULE,
    'chime-lifecycle is running offline',
    row('DynamoDB Local', stack.endpoints.dynamodb),
    row('SQS (fauxqs)', stack.endpoints.sqs),
    row('Chime SDK Identity', `${stack.endpoints.chime}  (emulator; admin API under /_emulator/)`),
    row('EventBridge', `${stack.endpoints.eventbridge}  (events at /_events)`),
    row('STS', `${stack.endpoints.sts}  (AssumeRole: tenants' roles in other accounts)`),
    stack.functions === 'serverless-offline'
      ? row(
          'Lambda (serverless-offline)',
          `http://localhost:${input.lambdaPort}  (Invoke API; functions chime-lifecycle-local-<name>)`,
        )
      : row('Lambda', 'in-process (--functions in-process)'),
    ...stack.wiring.map((fn, index) =>
      index === 0
        ? row('functions', `${fn.name.padEnd(17)} ${triggerText(fn.trigger)}`)
        : `${INDENT}${fn.name.padEnd(17)} ${triggerText(fn.trigger)}`,
    ),
  ];
  for (const tenant of stack.summary) {
    const users =
      tenant.users === undefined
        ? 'AppInstance missing in Chime'
        : `${String(tenant.users).padStart(4)} users in Chime`;
    const swept =
      tenant.sweptAtSeed > 0
        ? ` (${tenant.sweptAtSeed} more were seeded already expired: Chime's sweep deleted them)`
        : '';
    lines.push(
      `  tenant ${tenant.tenantId.padEnd(9)} ${users}${swept}  ${tenant.region.padEnd(12)}  ${tenant.appInstanceArn}`,
    );
  }
  stack.policyFiles.forEach((policy, index) => {
    const file = relative(policy.file);
    const state =
      policy.state === 'written'
        ? 'written: the demo policy stored now'
        : policy.state === 'kept'
          ? 'kept: the demo policy stored now'
          : `kept, with your edits; the demo policy is stored (npx chime-lifecycle policy put ${file} applies yours)`;
    lines.push(index === 0 ? row('policy files', `${file}  ${state}`) : `${INDENT}${file}  ${state}`);
  });
  lines.push(...stateLines(input));
  lines.push(RULE, 'point the CLI at it from another shell:');
  lines.push('  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local');
  for (const [key, value] of Object.entries(stack.environment)) lines.push(`  export ${key}=${value}`);
  lines.push('then try:', ...tryLines(input), RULE, 'Ctrl-C stops everything.');
  return lines;
}

function stateLines(input: BannerInput): string[] {
  const { stack } = input;
  if (!input.persist) return [row('state', 'in memory only: a restart begins afresh (--persist keeps it)')];
  return [
    row(
      'state',
      `kept in ${input.stateDir} (--persist; --reset wipes it): ` +
        (stack.restored ? `restored ${stack.summary.length} tenants` : 'nothing kept yet, started fresh'),
    ),
    row('queues', 'start empty: queued messages are not kept (the schedule and policy puts refill them)'),
    ...stack.resumedRuns.map((run) =>
      row('resumed', `the interrupted run ${run.runId} of tenant ${run.tenantId} from step ${run.step}`),
    ),
  ];
}

function tryLines(input: BannerInput): string[] {
  const globex = input.stack.policyFiles.find((policy) => policy.tenantId === 'globex');
  const globexFile = globex ? path.relative(input.cwd, globex.file) || globex.file : undefined;
  return [
    '  npx chime-lifecycle policy list',
    '  npx chime-lifecycle plan --tenant acme',
    '  npx chime-lifecycle plan --policy examples/policies/acme.json   (preview an edit of a policy before storing it)',
    '  npx chime-lifecycle onboard --file examples/onboarding.jsonl',
    ...(globexFile ? [`  edit ${globexFile}, then: npx chime-lifecycle policy put ${globexFile}`] : []),
    '  npx chime-lifecycle sync --tenant initech --json',
    "  npx chime-lifecycle sync --tenant globex --approve-shortening   (globex's first run is held by its safety caps)",
    '  npx chime-lifecycle dlq list',
  ];
}
