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
