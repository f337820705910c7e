import type { Command } from 'commander';
import type { StoredPolicy } from '../../shared/aws/policy-store';
import { CliError, EXIT_INVALID } from '../errors';
import { printJson } from '../output';
import { readPolicyFile, tenantIdArgument } from '../policy-file';
import { withRuntime } from '../with-runtime';

interface JsonOption {
  readonly json?: boolean;
}

export function register(program: Command): void {
  const policy = program.command('policy').description('validate, store and inspect tenant policies');

  policy
    .command('validate <file>')
    .description('check a policy document; exit 0 when valid, 2 with every problem listed otherwise')
    .option('--json', 'print machine-readable output')
    .action(async (file: string, options: JsonOption) => {
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
        console.log(`${file}: ${result.problems.length} problem(s)`);
        for (const problem of result.problems) console.log(`  ${problem}`);
      }
      if (!result.ok) process.exitCode = EXIT_INVALID;
    });

  policy
    .command('put <file>')
    .description('store a policy as the next version of its tenant (conditional on the version read)')
    .option('--expected-version <n>', 'fail unless the stored version is exactly this (0: no policy yet)')
    .option('--json', 'print machine-readable output')
    .action(async (file: string, options: JsonOption & { expectedVersion?: string }) => {
      const expectedVersion =
        options.expectedVersion === undefined ? undefined : versionOption(options.expectedVersion);
      const result = await readPolicyFile(file);
      if (!result.ok) {
        throw new CliError(`${file} is not a valid policy:\n  ${result.problems.join('\n  ')}`, EXIT_INVALID);
      }
      await withRuntime(async (runtime) => {
        const current = await runtime.policyStore.get(result.policy.tenantId);
        if (expectedVersion !== undefined && (current?.version ?? 0) !== expectedVersion) {
          throw new CliError(
            `tenant ${result.policy.tenantId} is at version ${current?.version ?? 0}, not ${expectedVersion}; nothing written`,
          );
        }
        const stored = await runtime.policyStore.put(
          result.policy,
          result.document,
          current ? { version: current.version, appInstanceArn: current.policy.appInstanceArn } : null,
        );
        if (options.json) printJson(summary(stored));
        else console.log(`tenant ${stored.tenantId}: stored version ${stored.version}`);
      });
    });

  policy
    .command('get <tenantId>')
    .description("print a tenant's current policy")
    .option('--json', 'print machine-readable output')
    .action(async (tenantId: string, options: JsonOption) => {
      tenantIdArgument(tenantId);
      await withRuntime(async (runtime) => {
        const stored = await runtime.policyStore.get(tenantId);
        if (!stored) throw new CliError(`no policy stored for tenant ${tenantId}`);
        if (options.json) printJson({ ...summary(stored), document: stored.document });
        else {
          console.log(`# tenant ${stored.tenantId}, version ${stored.version}, updated ${stored.updatedAt}`);
          console.log(JSON.stringify(stored.document, null, 2));
        }
      });
    });

  policy
    .command('list')
    .description('list every tenant with its current policy version')
    .option('--json', 'print machine-readable output')
    .action(async (options: JsonOption) => {
      await withRuntime(async (runtime) => {
        const policies = await runtime.policyStore.list();
        if (options.json) {
          printJson(policies.map(summary));
          return;
        }
        if (policies.length === 0) console.log('no tenants');
        for (const stored of policies) {
          const { enabled, rules, appInstanceArn } = stored.policy;
          console.log(
            `${stored.tenantId}\tv${stored.version}\t${enabled ? 'enabled' : 'disabled'}\t${rules.length} rules\t${appInstanceArn}\t${stored.updatedAt}`,
          );
        }
      });
    });

  policy
    .command('history <tenantId>')
    .description("list every stored version of a tenant's policy, newest first")
    .option('--json', 'print machine-readable output')
    .action(async (tenantId: string, options: JsonOption) => {
      tenantIdArgument(tenantId);
      await withRuntime(async (runtime) => {
        const versions = await runtime.policyStore.history(tenantId);
        if (versions.length === 0) throw new CliError(`no policy stored for tenant ${tenantId}`);
        if (options.json) {
          printJson(versions.map((stored) => ({ ...summary(stored), document: stored.document })));
          return;
        }
        for (const stored of versions) {
          console.log(
            `v${stored.version}\t${stored.updatedAt}\t${stored.policy.rules.length} rules\t${stored.policy.appInstanceArn}`,
          );
        }
      });
    });
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

function versionOption(value: string): number {
  const version = Number(value);
  if (!Number.isInteger(version) || version < 0) {
    throw new CliError(`--expected-version: must be a whole number >= 0, got "${value}"`, EXIT_INVALID);
  }
  return version;
}
