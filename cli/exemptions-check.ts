import { exemptionTimeProblems, exemptionWarnings, formatProblems, type Policy } from '../shared/policy';
import { CliError, EXIT_INVALID } from './errors';

/**
 * `policy put`'s checks of exemptions that need a clock: an `until` already past or more than five years
 * ahead refuses the put (naming the exemption); an exemption that matches none of the rules' users is a
 * warning on stderr, and the put goes on.
 */
export function checkExemptionsAtPut(file: string, policy: Policy, now: number): void {
  const problems = exemptionTimeProblems(policy, now);
  if (problems.length > 0) {
    throw new CliError(
      `${file} is not a valid policy:\n  ${formatProblems(problems).join('\n  ')}`,
      EXIT_INVALID,
    );
  }
  for (const warning of formatProblems(exemptionWarnings(policy))) {
    process.stderr.write(`warning: ${warning}\n`);
  }
}
