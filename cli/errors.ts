/**
 * The CLI's exit status, one per kind of outcome, the same in every command (README, "Exit status").
 * Scripts can tell "fix the command line" (2) from "no such tenant" (5) from "try again" (1).
 */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /**
   * The command could not do its work: a service failed or cannot be reached, credentials, tables or
   * queues are missing, a port is taken, a sync run failed, messages could not be sent, or an unexpected
   * error (whose one line ends with the --debug hint).
   */
  failed: 1,
  /** The command line or an input file is wrong: unknown command or option, a bad value, an invalid file. */
  usage: 2,
  /** `sync`: a run held shortening changes for approval. */
  held: 3,
  /** `sync --apply`: the plan was applied, but some of its changes were skipped (drift, gone, admin). */
  partial: 4,
  /** The tenant (no policy stored for it) or the user named does not exist. */
  notFound: 5,
  /**
   * The stored state is not the one the command was told to expect: `policy put --expected-version`, or a
   * plan `sync --apply` was given that has been applied already (a plan applies once).
   */
  conflict: 6,
} as const;

/** An error meant for the operator: printed as one line, no stack trace, with its own exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit code for invalid input (a policy that fails validation, a bad flag value). */
export const EXIT_INVALID = EXIT.usage;

/**
 * The error for a tenant without a policy, the same from every command, with the command that shows which
 * tenants there are. It names no other tenant: a typo is not answered with another tenant's name.
 */
export function noPolicyError(tenantId: string): CliError {
  return new CliError(
    `unknown tenant ${tenantId}: no policy is stored for it; \`chime-lifecycle policy list\` shows the tenants that have one`,
    EXIT.notFound,
  );
}
