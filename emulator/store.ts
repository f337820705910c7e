/**
 * The emulated account's state: the AppInstances and everything in them, the index of users that can expire,
 * and the ClientRequestTokens seen. Owns the lookups every operation starts with (ARN checks, "does not
 * exist"), the expiry rules and idempotency; the operations themselves live in operations/.
 */
import { randomUUID } from 'node:crypto';
import { type ParsedArn, parseArn, type ResourceKind } from './arn';
import type { Scope } from './caller';
import type { EmulatorClock } from './clock';
import { badRequest, conflict, forbidden, limitExceeded, notFound } from './errors';
import type { OperationInput, OperationName, OperationOutput } from './operations/types';
import { insertSorted, removeSorted } from './pagination';
import {
  type AppInstanceRecord,
  type BotRecord,
  canonicalJson,
  type ResourceLimits,
  type Tag,
  type UserRecord,
} from './records';

export interface ServiceConfig {
  /** Where unsigned requests and the admin seed's AppInstances live unless told otherwise. */
  readonly region: string;
  readonly accountId: string;
  readonly expiryDelaySeconds: number;
  readonly limits: ResourceLimits;
  readonly clock: EmulatorClock;
  /** Told of every user deletion: by the expiry sweeper (`expired`) or DeleteAppInstanceUser (`deleted`). */
  readonly onUserRemoved?: (userArn: string, reason: 'expired' | 'deleted', atMs: number) => void;
}

/** What a ClientRequestToken remembers: the other parameters' fingerprint and the response. */
export interface IdempotencyRecord {
  fingerprint: string;
  result: OperationOutput;
}

export interface FoundUser {
  readonly app: AppInstanceRecord;
  readonly user: UserRecord;
}

const DAY_MS = 86_400_000;

export class IdentityStore {
  readonly appInstances = new Map<string, AppInstanceRecord>();
  /** AppInstance ARNs in ascending order: the pagination key of ListAppInstances. */
  appInstanceArns: string[] = [];
  /** Users that have ExpirationSettings: the only ones the sweeper needs to look at. */
  readonly expiring = new Set<UserRecord>();
  /** `<operation> <ClientRequestToken>` → fingerprint of the other parameters and the response. */
  readonly idempotencyTokens = new Map<string, IdempotencyRecord>();

  /**
   * The account and Region of the API request being served (set around each operation, which runs
   * synchronously); undefined for the admin API, which may touch any of them.
   */
  scope: Scope | undefined;

  constructor(readonly config: ServiceConfig) {}

  /** Runs `work` as a request of `scope` (an API call): it sees and creates that scope's resources only. */
  within<T>(scope: Scope, work: () => T): T {
    this.scope = scope;
    try {
      return work();
    } finally {
      this.scope = undefined;
    }
  }

  get limits(): ResourceLimits {
    return this.config.limits;
  }

  now(): number {
    return this.config.clock.now();
  }

  reset(): void {
    this.appInstances.clear();
    this.appInstanceArns = [];
    this.expiring.clear();
    this.idempotencyTokens.clear();
  }

  counts(): { appInstances: number; users: number; bots: number } {
    let users = 0;
    let bots = 0;
    for (const app of this.appInstances.values()) {
      users += app.users.size;
      bots += app.bots.size;
    }
    return { appInstances: this.appInstances.size, users, bots };
  }

  /** The AppInstance a request is about (for per-AppInstance quotas), from whichever ARN member it has. */
  appInstanceOf(input: OperationInput): string | undefined {
    const arn =
      input.AppInstanceArn ?? input.AppInstanceUserArn ?? input.AppInstanceBotArn ?? input.ResourceARN;
    return typeof arn === 'string' ? parseArn(arn)?.appInstanceArn : undefined;
  }

  // ---- AppInstances -------------------------------------------------------------------------------

  /**
   * Creates an AppInstance in the request's scope (the admin seed: the one given, else the defaults).
   * `fixedArn` (admin seed only: Chime itself always picks the id) gives the AppInstance that ARN, in the
   * ARN's own Region and account, which must not be taken, so a demo can use known ARNs.
   */
  createAppInstance(
    name: string,
    metadata: string | undefined,
    tags: Tag[] = [],
    scope: Scope = this.scope ?? { region: this.config.region, account: this.config.accountId },
    fixedArn?: string,
  ): AppInstanceRecord {
    const fixed =
      fixedArn === undefined ? undefined : this.resolveArn(fixedArn, 'appInstanceArn', ['app-instance']);
    if (fixedArn !== undefined && this.appInstances.has(fixedArn)) {
      throw conflict(`appInstanceArn: ${fixedArn} already exists`);
    }
    const where: Scope = fixed ? { region: fixed.region, account: fixed.account } : scope;
    const prefix = `arn:aws:chime:${where.region}:${where.account}:app-instance/`;
    let inScope = 0;
    for (const arn of this.appInstances.keys()) if (arn.startsWith(prefix)) inScope++;
    if (inScope >= this.limits.appInstancesPerAccount) {
      throw limitExceeded(
        `the account already has the maximum of ${this.limits.appInstancesPerAccount} AppInstances in ${where.region}`,
      );
    }
    const now = this.now();
    const arn = fixedArn ?? `${prefix}${randomUUID()}`;
    const app: AppInstanceRecord = {
      arn,
      name,
      metadata,
      createdMs: now,
      updatedMs: now,
      tags,
      users: new Map(),
      userIds: [],
      bots: new Map(),
      botIds: [],
      admins: new Map(),
      adminArns: [],
      retention: undefined,
    };
    this.appInstances.set(arn, app);
    insertSorted(this.appInstanceArns, arn);
    return app;
  }

  removeAppInstance(arn: string): void {
    const app = this.appInstances.get(arn);
    if (!app) return;
    for (const user of app.users.values()) this.expiring.delete(user);
    this.appInstances.delete(arn);
    removeSorted(this.appInstanceArns, arn);
  }

  // ---- expiry -------------------------------------------------------------------------------------

  deletionDueMs(user: UserRecord): number {
    return user.expirationDays === undefined
      ? Number.POSITIVE_INFINITY
      : user.createdMs + user.expirationDays * DAY_MS + this.config.expiryDelaySeconds * 1000;
  }

  /** Deletes every user whose expiry plus the deletion delay has passed; returns how many. */
  sweepExpired(): number {
    const now = this.now();
    const touched = new Set<AppInstanceRecord>();
    let deleted = 0;
    for (const user of this.expiring) {
      if (now < this.deletionDueMs(user)) continue;
      this.forgetUser(user.app, user);
      this.config.onUserRemoved?.(user.arn, 'expired', now);
      touched.add(user.app);
      deleted++;
    }
    // Rebuild the sorted id arrays once per AppInstance instead of splicing per user.
    for (const app of touched) app.userIds = app.userIds.filter((id) => app.users.has(id));
    return deleted;
  }

  /** Removes a user from every index except the sorted id array (the caller fixes that). */
  private forgetUser(app: AppInstanceRecord, user: UserRecord): void {
    app.users.delete(user.userId);
    this.expiring.delete(user);
    if (app.admins.delete(user.arn)) removeSorted(app.adminArns, user.arn);
  }

  /** Deletes a user (DeleteAppInstanceUser, or found already due at `atMs`), telling `onUserRemoved` why. */
  deleteUser(app: AppInstanceRecord, user: UserRecord, reason: 'expired' | 'deleted', atMs: number): void {
    this.forgetUser(app, user);
    removeSorted(app.userIds, user.userId);
    this.config.onUserRemoved?.(user.arn, reason, atMs);
  }

  setExpiration(user: UserRecord, days: number | undefined): void {
    user.expirationDays = days;
    if (days === undefined) this.expiring.delete(user);
    else this.expiring.add(user);
  }

  // ---- lookups ------------------------------------------------------------------------------------

  /**
   * Checks an ARN names a resource of an allowed kind that the request may see: one of its Region (another
   * Region's endpoint does not know it: NotFound) and of its caller's account (Forbidden otherwise).
   */
  resolveArn(arn: string, member: string, kinds: readonly ResourceKind[]): ParsedArn {
    const parsed = parseArn(arn);
    if (!parsed || parsed.service !== 'chime' || !kinds.includes(parsed.kind)) {
      const wanted = kinds.map((kind) => (kind === 'app-instance' ? 'AppInstance' : `AppInstance ${kind}`));
      throw badRequest(`${member}: ${arn} is not an ${wanted.join(' or ')} ARN`);
    }
    if (parsed.partition !== 'aws') throw forbidden(`${member}: ${arn} is outside the aws partition`);
    const scope = this.scope;
    if (scope && parsed.region !== scope.region) {
      throw notFound(
        `${member}: ${arn} does not exist in ${scope.region} (the Region this request was signed for)`,
      );
    }
    if (scope && parsed.account !== scope.account) {
      throw forbidden(
        `${member}: ${arn} belongs to account ${parsed.account}; the caller's credentials are of account ${scope.account}`,
      );
    }
    return parsed;
  }

  requireAppInstance(arn: string, member = 'AppInstanceArn'): AppInstanceRecord {
    const parsed = this.resolveArn(arn, member, ['app-instance']);
    const app = this.appInstances.get(parsed.appInstanceArn);
    if (!app) throw notFound(`AppInstance ${arn} does not exist`);
    return app;
  }

  findUser(parsed: ParsedArn): FoundUser | undefined {
    const app = this.appInstances.get(parsed.appInstanceArn);
    return app && this.findUserIn(app, parsed.id);
  }

  findUserIn(app: AppInstanceRecord, userId: string): FoundUser | undefined {
    const user = app.users.get(userId);
    if (!user) return undefined;
    // The periodic sweep may lag by up to its interval; a user already due for deletion is gone.
    const now = this.now();
    if (now >= this.deletionDueMs(user)) {
      this.deleteUser(app, user, 'expired', now);
      return undefined;
    }
    return { app, user };
  }

  requireUser(arn: string, member = 'AppInstanceUserArn'): FoundUser {
    const found = this.findUser(this.resolveArn(arn, member, ['user']));
    if (!found) throw notFound(`AppInstanceUser ${arn} does not exist`);
    return found;
  }

  requireBot(arn: string, member = 'AppInstanceBotArn'): { app: AppInstanceRecord; bot: BotRecord } {
    const parsed = this.resolveArn(arn, member, ['bot']);
    const app = this.appInstances.get(parsed.appInstanceArn);
    const bot = app?.bots.get(parsed.id);
    if (!app || !bot) throw notFound(`AppInstanceBot ${arn} does not exist`);
    return { app, bot };
  }

  /** Any taggable resource: returns the record whose `tags` field is read and written. */
  requireTaggable(arn: string): { tags: Tag[] } {
    const parsed = this.resolveArn(arn, 'ResourceARN', ['app-instance', 'user', 'bot']);
    if (parsed.kind === 'app-instance') return this.requireAppInstance(arn, 'ResourceARN');
    if (parsed.kind === 'user') return this.requireUser(arn, 'ResourceARN').user;
    return this.requireBot(arn, 'ResourceARN').bot;
  }

  // ---- idempotency --------------------------------------------------------------------------------

  /**
   * ClientRequestToken semantics, scoped per operation (the emulator has one account): the same token with the
   * same other parameters returns the first result without creating anything; with different parameters it is
   * a ConflictException.
   */
  idempotent<Output extends OperationOutput>(
    operation: OperationName,
    input: { readonly ClientRequestToken?: string },
    create: () => Output,
  ): Output {
    const { ClientRequestToken: token, ...parameters } = input;
    const key = `${operation} ${String(token)}`;
    const fingerprint = canonicalJson(parameters);
    const previous = this.idempotencyTokens.get(key);
    if (previous) {
      // The key names the operation, so this is the response `create` gave for it the first time.
      if (previous.fingerprint === fingerprint) return previous.result as Output;
      throw conflict(
        `ClientRequestToken: ${String(token)} was already used for ${operation} with different parameters`,
      );
    }
    const result = create();
    this.idempotencyTokens.set(key, { fingerprint, result });
    return result;
  }
}
