import { z } from 'zod';

/**
 * A tenant's run, as the sync writes it (shared/aws/runs.ts stores it, the run events and the metrics read it).
 * The counters are declared once, as the zod schema the `Tenant Run …` events carry (docs/events/); their
 * type and their zero value come from it.
 */

const count = z.number().int().min(0);

export const runCountersSchema = z.strictObject({
  scanned: count,
  pages: count,
  described: count,
  unchanged: count,
  set: count,
  removed: count,
  shortening: count,
  shorteningApplied: count,
  held: count,
  rescued: count,
  unmanaged: count,
  floored: count,
  gone: count,
  chimeCalls: count,
  /** Users left untouched because they are AppInstanceAdmins (policy `protectAdmins`, on by default). */
  protected: count,
});

export type RunCounters = z.infer<typeof runCountersSchema>;

/** Every counter at 0 (built from the schema's own keys, so a new counter cannot be left out). */
export const emptyCounters = (): RunCounters =>
  runCountersSchema.parse(Object.fromEntries(Object.keys(runCountersSchema.shape).map((name) => [name, 0])));

export type RunState = 'running' | 'completed' | 'held' | 'failed';

export interface RunRecord {
  readonly tenantId: string;
  readonly runId: string;
  readonly state: RunState;
  readonly trigger: string;
  readonly policyVersion: number;
  /** Incremented by every invocation that makes progress; a redelivered continuation finds it moved on. */
  readonly step: number;
  /** `scan` pages through the users; `apply` writes the shortening changes the safety caps allowed. */
  readonly phase: 'scan' | 'apply';
  readonly approveShortening: boolean;
  /** The ListAppInstanceUsers NextToken to resume from; absent before the first page and after the last. */
  readonly cursor?: string | undefined;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string | undefined;
  readonly counters: RunCounters;
  readonly reason?: string | undefined;
}

/** A shortening change found by a run and applied only when the run's safety caps allow it. */
export interface PendingShortening {
  readonly appInstanceUserId: string;
  readonly userArn: string;
  readonly runId: string;
  /** null removes the expiration (never shortening in practice, kept for completeness). */
  readonly desiredDays: number | null;
  readonly ruleId: string | null;
}
