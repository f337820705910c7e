/** An error meant for the operator: printed as one line, no stack trace, with its own exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit code for invalid input (a policy that fails validation, a bad flag value). */
export const EXIT_INVALID = 2;

/** The error for a tenant without a policy, with the command that shows which tenants there are. */
export function noPolicyError(tenantId: string): CliError {
  return new CliError(
    `no policy stored for tenant ${tenantId}; \`chime-lifecycle policy list\` shows the tenants that have one`,
  );
}
