import type { Command } from 'commander';
import {
  AppInstanceClaimedError,
  AppInstanceMoveError,
  PolicyChangedError,
  sameDocument,
} from '../../shared/aws/policy-store';
import { ChimeAccessError } from '../../shared/chime/access-error';
import type { Runtime } from '../../shared/composition-root';
import type { StoredPolicy } from '../../shared/contracts/stored-policy';
import { type Policy, parseAppInstanceArn } from '../../shared/policy';
import { CliError, EXIT, EXIT_INVALID, noPolicyError } from '../errors';
import { checkExemptionsAtPut } from '../exemptions-check';
import { printJson, printLine, quoteInput } from '../output';
import { readPolicyFile, tenantIdArgument } from '../policy-file';
import { formatTable } from '../table';
import { withRuntime, withStores } from '../with-runtime';
import { addCommand } from './index';

interface JsonOption {
  readonly json?: boolean;
}

interface PutOptions extends JsonOption {
  readonly expectedVersion?: string;
  readonly moveAppInstance?: boolean;
}

export function register(program: Command): void {
  const policy = addCommand(program, 'policy');

  policy
    .command('validate <file>')
    .description('check a policy document; exit 0 when valid, 2 with every problem listed otherwise')
    .option('--json', 'print machine-readable output')
    .action(validatePolicy);

  policy
    .command('put <file>')
    .description('store a policy as the next version of its tenant (conditional on the version read)')
    .option('--expected-version <n>', 'fail unless the stored version is exactly this (0: no policy yet)')
    .option(
      '--move-app-instance',
      "allow a change of the tenant's appInstanceArn (the old AppInstance is released for other tenants)",
    )
    .option('--json', 'print machine-readable output')
    .action(putPolicy);

  policy
    .command('get <tenantId>')
    .description(
      "print a tenant's current policy document as it was put (the version line goes to stderr, so `policy get T > file.json` gives valid JSON)",
    )
    .option('--json', 'print machine-readable output')
    .action(async (tenantId: string, options: JsonOption) => {
      tenantIdArgument(tenantId);
      await withStores(async (runtime) => {
        const stored = await runtime.policyStore.get(tenantId);
        if (!stored) throw noPolicyError(tenantId);
        if (options.json) printJson({ ...summary(stored), document: stored.document });
        else {
          process.stderr.write(
            `# tenant ${stored.tenantId}, version ${stored.version}, updated ${stored.updatedAt}\n`,
          );
          process.stdout.write(stored.source ?? `${JSON.stringify(stored.document, null, 2)}\n`);
        }
      });
    });

  policy
    .command('list')
    .description('list every tenant with its current policy version')
    .option('--json', 'print machine-readable output')
    .action(async (options: JsonOption) => {
      await withStores(async (runtime) => {
        const policies = await runtime.policyStore.list();
        if (options.json) {
          printJson(policies.map(summary));
          return;
        }
        if (policies.length === 0) {
          console.log('no tenants (store one with: chime-lifecycle policy put <file>)');
          return;
        }
        console.log(
          formatTable(
            ['TENANT', 'VERSION', 'STATE', 'RULES', 'APPINSTANCE', 'UPDATED'],
            policies.map((stored) => [
              stored.tenantId,
              String(stored.version),
              stored.policy.enabled ? 'enabled' : 'disabled',
              String(stored.policy.rules.length),
              stored.policy.appInstanceArn,
              stored.updatedAt,
            ]),
            { rightAlign: [1, 3] },
          ),
        );
      });
    });

  policy
    .command('history <tenantId>')
    .description("list every stored version of a tenant's policy, newest first")
    .option('--json', 'print machine-readable output')
    .action(async (tenantId: string, options: JsonOption) => {
      tenantIdArgument(tenantId);
      await withStores(async (runtime) => {
        const versions = await runtime.policyStore.history(tenantId);
        if (versions.length === 0) throw noPolicyError(tenantId);
        if (options.json) {
          printJson(
            versions.map((stored) => ({
              ...summary(stored),
              movedFrom: stored.movedFrom ?? null,
              document: stored.document,
            })),
          );
          return;
        }
        console.log(
          formatTable(
            ['VERSION', 'UPDATED', 'RULES', 'APPINSTANCE', 'NOTE'],
            versions.map((stored) => [
              String(stored.version),
              stored.updatedAt,
              String(stored.policy.rules.length),
              stored.policy.appInstanceArn,
              stored.movedFrom === undefined ? '' : `moved from ${stored.movedFrom}`,
            ]),
            { rightAlign: [0, 2] },
          ),
        );
      });
    });
}

/**
 * Refuses an AppInstance that does not exist, or that the policy's credentials cannot reach, before anything
 * is stored (exit 2). DescribeAppInstance goes where the tenant's calls will go: the Region of the ARN, with
 * the role of `access` when the policy has one.
 */
async function requireAppInstance(runtime: Runtime, policy: Policy): Promise<void> {
  const { appInstanceArn, access } = policy;
  const region = parseAppInstanceArn(appInstanceArn)?.region ?? runtime.config.region;
  const who = access ? `the role ${access.roleArn}` : 'these credentials (no access.roleArn)';
  const { DescribeAppInstanceCommand } = await import('../chime-commands');
  try {
    await runtime
      .chimeFor(appInstanceArn, access)
      .send(new DescribeAppInstanceCommand({ AppInstanceArn: appInstanceArn }));
  } catch (error) {
    if (error instanceof ChimeAccessError) {
      throw new CliError(`access: ${error.message}. Nothing written`, EXIT_INVALID);
    }
    const name = (error as { name?: string }).name;
    if (name === 'NotFoundException' || name === 'BadRequestException') {
      throw new CliError(
        `appInstanceArn: AppInstance ${appInstanceArn} does not exist in ${region} (DescribeAppInstance: ${name}); check the ARN, and create the AppInstance first. Nothing written`,
        EXIT_INVALID,
      );
    }
    if (name === 'ForbiddenException' || name === 'AccessDeniedException') {
      throw new CliError(
        `appInstanceArn: ${who} may not read AppInstance ${appInstanceArn} (DescribeAppInstance: ${name}); an AppInstance of another account needs access.roleArn, a role of that account (docs/deploy.md). Nothing written`,
        EXIT_INVALID,
      );
    }
    throw error;
  }
}

function summary(stored: StoredPolicy) {
  return {
    tenantId: stored.tenantId,
    version: stored.version,
    updatedAt: stored.updatedAt,
    enabled: stored.policy.enabled,
    appInstanceArn: stored.policy.appInstanceArn,
    rules: stored.policy.rules.length,
  };
}

/** Only a plain non-negative decimal integer: `0x3`, `1e0`, `3.0`, `-0`, `""` and `" "` are refused. */
const VERSION = /^(?:0|[1-9][0-9]{0,14})$/;

export function versionOption(value: string): number {
  if (!VERSION.test(value)) {
    throw new CliError(
      `--expected-version: must be a plain whole number such as 0 or 3 (digits only, no sign, no leading zeros), got ${quoteInput(value)}`,
      EXIT_INVALID,
    );
  }
  return Number(value);
}

/** `policy validate <file>`: every problem listed, exit 2 when there is one. */
async function validatePolicy(file: string, options: JsonOption): Promise<void> {
  const result = await readPolicyFile(file);
  if (options.json) {
    printJson(
      result.ok
        ? { valid: true, tenantId: result.policy.tenantId }
        : { valid: false, problems: result.problems },
    );
  } else if (result.ok) {
    console.log(
      `${file}: valid policy for tenant ${result.policy.tenantId} (${result.policy.rules.length} rules)`,
    );
  } else {
    printLine(`${file}: ${result.problems.length} problem(s)`);
    for (const problem of result.problems) printLine(`  ${problem}`);
  }
  if (!result.ok) process.exitCode = EXIT_INVALID;
}

/** `policy put <file>`: the next version of its tenant, conditional on the version read. */
async function putPolicy(file: string, options: PutOptions): Promise<void> {
  const expectedVersion =
    options.expectedVersion === undefined ? undefined : versionOption(options.expectedVersion);
  const result = await readPolicyFile(file);
  if (!result.ok) {
    throw new CliError(`${file} is not a valid policy:\n  ${result.problems.join('\n  ')}`, EXIT_INVALID);
  }
  const { policy: parsed, document, source } = result;
  checkExemptionsAtPut(file, parsed, Date.now());
  await withRuntime(async (runtime) => {
    const current = await runtime.policyStore.get(parsed.tenantId);
    if (expectedVersion !== undefined && (current?.version ?? 0) !== expectedVersion) {
      throw new CliError(
        `tenant ${parsed.tenantId} is at version ${current?.version ?? 0}, not ${expectedVersion}; nothing written`,
        EXIT.conflict,
      );
    }
    if (current && sameDocument(current.document, document)) {
      // Nothing to store: a new version would only trigger a reconcile that changes nothing.
      if (options.json) printJson({ ...summary(current), unchanged: true });
      else console.log(`tenant ${current.tenantId}: unchanged (version ${current.version})`);
      return;
    }
    const moving = current !== null && current.policy.appInstanceArn !== parsed.appInstanceArn;
    if (moving && !options.moveAppInstance) {
      throw new CliError(
        new AppInstanceMoveError(parsed.tenantId, current.policy.appInstanceArn, parsed.appInstanceArn)
          .message,
        EXIT_INVALID,
      );
    }
    await requireAppInstance(runtime, parsed);
    let stored: StoredPolicy;
    try {
      stored = await runtime.policyStore.put(
        parsed,
        document,
        current ? { version: current.version, appInstanceArn: current.policy.appInstanceArn } : null,
        { source, moveAppInstance: options.moveAppInstance === true },
      );
    } catch (error) {
      // Another put stored a version between this one's read and its write.
      if (error instanceof PolicyChangedError) throw new CliError(error.message, EXIT.conflict);
      if (error instanceof AppInstanceClaimedError) {
        throw new CliError(
          `AppInstance ${error.appInstanceArn} already belongs to another tenant (whose name is not shown: ` +
            'one tenant never learns the names of others); a tenant can only manage an AppInstance no other tenant has. Nothing written',
          EXIT_INVALID,
        );
      }
      throw error;
    }
    if (options.json) printJson({ ...summary(stored), unchanged: false });
    else if (stored.movedFrom !== undefined)
      console.log(
        `tenant ${stored.tenantId}: stored version ${stored.version}, moved from ${stored.movedFrom} to ${stored.policy.appInstanceArn}`,
      );
    else console.log(`tenant ${stored.tenantId}: stored version ${stored.version}`);
  });
}
