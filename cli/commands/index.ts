import type { Command } from 'commander';

/**
 * Every top-level command: its one-line description and its module, imported only when that command runs
 * (or its own --help is asked for). The top-level help and "did you mean" need no more than this, so they
 * load none of the command modules, their AWS SDK clients or the local servers.
 *
 * Each module's `register(program)` defines the command in full (options, subcommands, action) and takes
 * its description from here, so the two never disagree.
 */
export interface CommandDefinition {
  readonly description: string;
  readonly load: () => Promise<{ register(program: Command): void }>;
}

export const COMMANDS = {
  emulator: {
    description: 'run a local Amazon Chime SDK Identity API emulator (see docs/emulator.md)',
    load: () => import('./emulator'),
  },
  local: {
    description: 'set up and run the offline system',
    load: () => import('./local'),
  },
  policy: {
    description: 'validate, store and inspect tenant policies',
    load: () => import('./policy'),
  },
  plan: {
    description:
      'show what a sync would change for a tenant, read as the sync reads it (ledger, then Chime); writes nothing',
    load: () => import('./plan'),
  },
  report: {
    description:
      'write a tenant report (expiry chart before/after the plan, 90-day calendar, rules, safety) as one HTML file',
    load: () => import('./report'),
  },
  sync: {
    description: 'reconcile tenants now, in this process (the scheduled sync, in pull mode)',
    load: () => import('./sync'),
  },
  dlq: {
    description: 'inspect dead-lettered messages and move them back',
    load: () => import('./dlq'),
  },
  onboard: {
    description: 'send "create this user" requests from a JSON Lines file to the onboarding queue',
    load: () => import('./onboard'),
  },
  worker: {
    description: 'consume a queue in the foreground with its Lambda handler (local SQS event source)',
    load: () => import('./worker'),
  },
  expiring: {
    description:
      'list the users whose expiry is near, from the ledger alone (no Chime call), with the warnings already sent',
    load: () => import('./expiring'),
  },
  activity: {
    description:
      'record user activity for renewal (inactiveDays rules): one JSON object a line, {"tenantId", "appInstanceUserId", "at"}',
    load: () => import('./activity'),
  },
  exemptions: {
    description: "list a tenant's exemptions with the days each has left (soonest ending first)",
    load: () => import('./exemptions'),
  },
  explain: {
    description:
      'why a user expires when it does: Chime now, each rule tried, protection, decision, ledger, history',
    load: () => import('./explain'),
  },
} as const satisfies Record<string, CommandDefinition>;

export type CommandName = keyof typeof COMMANDS;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** Adds a top-level command to the program with its description from the table. */
export function addCommand(program: Command, name: CommandName): Command {
  return program.command(name).description(COMMANDS[name].description);
}
