import type { SQSRecord } from 'aws-lambda';
import type { QueueTransport } from '../../shared/aws/queue-driver';
import type { LedgerEntry } from '../../shared/contracts/ledger';
import type { EventSink, LifecycleEvent } from '../../shared/contracts/lifecycle-events';
import type { Log } from '../../shared/contracts/log';
import type { ReconcileMessage } from '../../shared/contracts/reconcile-messages';
import type { PendingShortening, RunRecord } from '../../shared/contracts/run';
import type { StoredPolicy } from '../../shared/contracts/stored-policy';
import { parsePolicy } from '../../shared/policy';
import type { QueueKind } from '../../shared/queue-settings';
import type {
  DescribedUser,
  IssuedPlan,
  IssuedPlanPort,
  LedgerPort,
  PolicySource,
  ReconcileQueuePort,
  RunPort,
  UserDirectory,
  UserPage,
} from '../../shared/sync/ports';
import { DEFAULT_RECONCILE_SETTINGS, type ReconcileDeps } from '../../shared/sync/settings';
import { appInstanceArn, policyDocument } from '../fixtures/policies';

/**
 * In-memory fakes of our own ports, for the state-machine branches of the use cases. They keep the
 * semantics the adapters promise (conditional save on the step, lease with expiry, positional pages) and
 * record what was done, so a test can assert on it.
 */

export class FakeRuns implements RunPort {
  readonly records = new Map<string, RunRecord>();
  readonly pendingItems = new Map<string, PendingShortening>();
  lease: { runId: string; until: number } | undefined;
  /** Set to make the next conditional save lose (another delivery saved first). */
  loseNextSave = false;
  readonly saves: RunRecord[] = [];

  async acquireLease(_tenantId: string, runId: string, now: number, leaseMs: number) {
    if (this.lease && this.lease.until >= now && this.lease.runId !== runId) {
      return { acquired: false, holder: this.lease.runId };
    }
    this.lease = { runId, until: now + leaseMs };
    return { acquired: true };
  }
  async releaseLease(_tenantId: string, runId: string) {
    if (this.lease?.runId === runId) this.lease = undefined;
  }
  async create(record: RunRecord) {
    if (this.records.has(record.runId)) throw new Error(`run ${record.runId} exists`);
    this.records.set(record.runId, record);
  }
  async get(_tenantId: string, runId: string) {
    return this.records.get(runId) ?? null;
  }
  async save(record: RunRecord, expectedStep: number) {
    const current = this.records.get(record.runId);
    if (this.loseNextSave || current?.step !== expectedStep) {
      this.loseNextSave = false;
      return false;
    }
    this.records.set(record.runId, record);
    this.saves.push(record);
    return true;
  }
  async addPending(_tenantId: string, pending: readonly PendingShortening[]) {
    for (const item of pending) this.pendingItems.set(item.appInstanceUserId, item);
  }
  async *pending() {
    yield* [...this.pendingItems.values()];
  }
  async removePending(_tenantId: string, ids: readonly string[]) {
    for (const id of ids) this.pendingItems.delete(id);
  }
}

export class FakeLedger implements LedgerPort {
  readonly entries = new Map<string, LedgerEntry>();
  async getMany(_tenantId: string, ids: readonly string[]) {
    return new Map(
      ids.flatMap((id) => (this.entries.has(id) ? [[id, this.entries.get(id) as LedgerEntry]] : [])),
    );
  }
  async putMany(_tenantId: string, entries: readonly LedgerEntry[]) {
    for (const entry of entries) this.entries.set(entry.appInstanceUserId, entry);
  }
  async *unseenBefore(_tenantId: string, cutoff: number) {
    for (const entry of this.entries.values()) {
      if ((entry.lastSeenAt === undefined || entry.lastSeenAt < cutoff) && entry.goneAt === undefined)
        yield entry;
    }
  }
  async markGone(_tenantId: string, id: string, at: number) {
    const entry = this.entries.get(id);
    if (entry) this.entries.set(id, { ...entry, goneAt: at });
  }
  async *all(_tenantId: string) {
    yield* [...this.entries.values()];
  }
}

export class FakePolicies implements PolicySource {
  readonly stored = new Map<string, StoredPolicy>();
  put(tenantId: string, overrides: Record<string, unknown> = {}, version = 1): StoredPolicy {
    const document = policyDocument(tenantId, appInstanceArn(tenantId), overrides);
    const parsed = parsePolicy(document);
    if (!parsed.ok) throw new Error(`fixture policy invalid: ${JSON.stringify(parsed.problems)}`);
    const stored = {
      tenantId,
      version,
      updatedAt: new Date(0).toISOString(),
      document,
      policy: parsed.policy,
    };
    this.stored.set(tenantId, stored);
    return stored;
  }
  async get(tenantId: string) {
    return this.stored.get(tenantId) ?? null;
  }
}

export interface FakeUser {
  readonly appInstanceUserId: string;
  readonly createdAt: number;
  expirationDays: number | undefined;
  readonly metadata?: string;
}

/** Chime's users of one AppInstance, paged like ListAppInstanceUsers (cursor = index of the next user). */
export class FakeChime implements UserDirectory {
  readonly users = new Map<string, FakeUser>();
  readonly puts: { arn: string; days: number | null }[] = [];
  /** AppInstanceUserIds promoted to AppInstanceAdmin. */
  readonly admins = new Set<string>();
  adminLists = 0;
  describes = 0;
  /** Thrown by the next Chime call, once. */
  failNext: unknown;
  constructor(
    readonly appInstanceArn: string,
    readonly pageSize = 2,
  ) {}
  add(user: FakeUser): void {
    this.users.set(user.appInstanceUserId, user);
  }
  arnOf(id: string): string {
    return `${this.appInstanceArn}/user/${id}`;
  }
  /** The ARN Chime gives a user of an AppInstance (ChimeUserPort.userArn's arithmetic). */
  userArn(appInstanceArn: string, id: string): string {
    return `${appInstanceArn}/user/${id}`;
  }
  private takeFailure(): void {
    if (this.failNext === undefined) return;
    const error = this.failNext;
    this.failNext = undefined;
    throw error;
  }
  async *listPages(_arn: string, { startToken }: { startToken?: string }): AsyncGenerator<UserPage> {
    const all = [...this.users.values()].sort((a, b) =>
      a.appInstanceUserId.localeCompare(b.appInstanceUserId),
    );
    for (let start = Number(startToken ?? 0); start < all.length; start += this.pageSize) {
      this.takeFailure();
      const next = start + this.pageSize;
      yield {
        users: all.slice(start, next).map((user) => ({
          arn: this.arnOf(user.appInstanceUserId),
          appInstanceUserId: user.appInstanceUserId,
          ...(user.metadata === undefined ? {} : { metadata: user.metadata }),
        })),
        nextToken: next < all.length ? String(next) : undefined,
      };
    }
  }
  async listAdmins(_arn: string): Promise<ReadonlySet<string>> {
    this.takeFailure();
    this.adminLists++;
    return new Set(this.admins);
  }
  async describe(arn: string): Promise<(DescribedUser & { metadata?: string }) | null> {
    this.takeFailure();
    this.describes++;
    const user = this.users.get(arn.split('/').at(-1) ?? '');
    if (!user) return null;
    return {
      createdAt: user.createdAt,
      expirationDays: user.expirationDays,
      ...(user.metadata === undefined ? {} : { metadata: user.metadata }),
    };
  }
  async putExpiration(arn: string, days: number | null): Promise<void> {
    this.takeFailure();
    this.puts.push({ arn, days });
    const user = this.users.get(arn.split('/').at(-1) ?? '');
    if (user) user.expirationDays = days ?? undefined;
  }
}

/** The issued plans of the state table: the conditional consume of IssuedPlans, in memory. */
export class FakeIssuedPlans implements IssuedPlanPort {
  readonly plans = new Map<string, IssuedPlan>();
  async issue(plan: Omit<IssuedPlan, 'state'>) {
    if (this.plans.has(plan.sha256)) throw new Error(`plan ${plan.sha256} issued twice`);
    this.plans.set(plan.sha256, { ...plan, state: 'issued' });
  }
  async get(_tenantId: string, sha256: string) {
    return this.plans.get(sha256) ?? null;
  }
  async consume(_tenantId: string, sha256: string, at: number) {
    const plan = this.plans.get(sha256);
    if (plan?.state !== 'issued') return false;
    this.plans.set(sha256, { ...plan, state: 'applying', consumedAt: new Date(at).toISOString() });
    return true;
  }
  async finish(_tenantId: string, sha256: string, outcome: { applied: number; skipped: number }) {
    const plan = this.plans.get(sha256);
    if (plan)
      this.plans.set(sha256, {
        ...plan,
        state: 'applied',
        applied: outcome.applied,
        skipped: outcome.skipped,
      });
  }
}

export class FakeQueue implements ReconcileQueuePort {
  readonly sent: ReconcileMessage[] = [];
  async send(messages: readonly ReconcileMessage[]) {
    this.sent.push(...messages);
  }
  take(): ReconcileMessage[] {
    return this.sent.splice(0);
  }
}

export class FakeEvents implements EventSink {
  readonly published: LifecycleEvent[] = [];
  async publish(events: readonly LifecycleEvent[]) {
    this.published.push(...events);
  }
}

/** The queue driver's transport, in memory: what was sent, dead-lettered and delayed. */
export class FakeTransport implements QueueTransport {
  readonly sent: { kind: QueueKind; body: unknown }[] = [];
  readonly deadLetters: { messageId: string; reason: string; detail: string }[] = [];
  readonly visibility: { messageId: string; seconds: number }[] = [];
  readonly requeued: { messageId: string; body: string; delaySeconds: number }[] = [];
  failDeadLetter: unknown;
  constructor(readonly receiveLimit = 5) {}
  async send(kind: QueueKind, bodies: readonly unknown[]) {
    for (const body of bodies) this.sent.push({ kind, body });
  }
  async changeVisibility(record: SQSRecord, _kind: QueueKind, seconds: number) {
    this.visibility.push({ messageId: record.messageId, seconds });
  }
  async deadLetter(record: SQSRecord, _kind: QueueKind, reason: string, detail: string) {
    if (this.failDeadLetter) throw this.failDeadLetter;
    this.deadLetters.push({ messageId: record.messageId, reason, detail });
  }
  async requeue(record: SQSRecord, _kind: QueueKind, delaySeconds: number) {
    this.requeued.push({ messageId: record.messageId, body: record.body, delaySeconds });
  }
  async maxReceiveCount() {
    return this.receiveLimit;
  }
}

export function recordingLog(): Log & { readonly lines: unknown[][] } {
  const lines: unknown[][] = [];
  const push = (...args: unknown[]) => void lines.push(args);
  return { lines, info: push, warn: push, error: push };
}

/** An SQS record as Lambda's event source mapping builds it. */
export function sqsRecord(
  body: string,
  options: { messageId?: string; receiveCount?: number } = {},
): SQSRecord {
  return {
    messageId: options.messageId ?? 'm-1',
    receiptHandle: 'receipt',
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1700000000000',
      SenderId: 'sender',
      ApproximateFirstReceiveTimestamp: '1700000000000',
    },
    messageAttributes: {},
    md5OfBody: 'md5',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:queue',
    awsRegion: 'us-east-1',
  };
}

/** Everything the reconcile step needs, in memory, at a fixed clock. */
export function reconcileFakes(options: { now?: number; tenantId?: string } = {}) {
  const tenantId = options.tenantId ?? 'acme';
  let now = options.now ?? Date.UTC(2025, 0, 10);
  const runs = new FakeRuns();
  const ledger = new FakeLedger();
  const policies = new FakePolicies();
  const chime = new FakeChime(appInstanceArn(tenantId));
  const queue = new FakeQueue();
  const events = new FakeEvents();
  const log = recordingLog();
  const deps = (overrides: Partial<ReconcileDeps> = {}): ReconcileDeps => ({
    policies,
    users: chime,
    ledger,
    runs,
    events,
    queue,
    log,
    now: () => now,
    remainingTimeMs: () => Number.POSITIVE_INFINITY,
    settings: { ...DEFAULT_RECONCILE_SETTINGS, maxPagesPerInvocation: 1 },
    ...overrides,
  });
  return {
    tenantId,
    runs,
    ledger,
    policies,
    chime,
    queue,
    events,
    log,
    deps,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
