/**
 * The in-memory Chime SDK Identity: resources, the 30 operations' semantics, idempotency tokens, resource
 * limits and the expiry sweeper. Inputs arrive already validated against the model (see validation.ts).
 */
import { randomUUID } from 'node:crypto';
import { type ParsedArn, parseArn, type ResourceKind } from './arn';
import type { EmulatorClock } from './clock';
import { badRequest, conflict, forbidden, limitExceeded, notFound } from './errors';
import { insertSorted, pageOf, removeSorted } from './pagination';

export interface Tag {
  Key: string;
  Value: string;
}
export interface ExpirationSettings {
  ExpirationDays: number;
  ExpirationCriterion: string;
}

export interface ResourceLimits {
  /** Max AppInstances per account (AWS default 100). */
  readonly appInstancesPerAccount: number;
  /** Max AppInstanceUsers per AppInstance (AWS default 100,000). */
  readonly usersPerAppInstance: number;
  /** Max AppInstanceAdmins per AppInstance (AWS default 100). */
  readonly adminsPerAppInstance: number;
  /** Max AppInstanceUserEndpoints per AppInstanceUser (AWS default 10). */
  readonly endpointsPerUser: number;
  /** Max tags per resource (the TagList maximum, 50). */
  readonly tagsPerResource: number;
}

export const DEFAULT_LIMITS: ResourceLimits = {
  appInstancesPerAccount: 100,
  usersPerAppInstance: 100_000,
  adminsPerAppInstance: 100,
  endpointsPerUser: 10,
  tagsPerResource: 50,
};

/** Shared initial tag list; tag updates always build a new array, so it is never mutated. */
const NO_TAGS: Tag[] = [];

/** A class (one hidden class, lean fields) because 100k of these must fit well under 200 MB of RSS. */
class UserRecord {
  expirationDays: number | undefined = undefined;
  tags: Tag[] = NO_TAGS;
  endpoints: Map<string, EndpointRecord> | undefined = undefined;
  constructor(
    readonly app: AppInstanceRecord,
    readonly userId: string,
    public name: string,
    public metadata: string | undefined,
    readonly createdMs: number,
    public updatedMs: number,
  ) {}

  /** Derived rather than stored: saves a ~110-character string per user. */
  get arn(): string {
    return `${this.app.arn}/user/${this.userId}`;
  }
}

interface BotRecord {
  readonly arn: string;
  readonly botId: string;
  name: string | undefined;
  metadata: string | undefined;
  configuration: unknown;
  readonly createdMs: number;
  updatedMs: number;
  tags: Tag[];
}

interface EndpointRecord {
  readonly endpointId: string;
  name: string | undefined;
  readonly type: string;
  readonly resourceArn: string;
  readonly attributes: Record<string, string>;
  allowMessages: string;
  readonly createdMs: number;
  updatedMs: number;
}

interface AppInstanceRecord {
  readonly arn: string;
  name: string;
  metadata: string | undefined;
  readonly createdMs: number;
  updatedMs: number;
  tags: Tag[];
  readonly users: Map<string, UserRecord>;
  /** User ids in ascending code-unit order: the pagination key of ListAppInstanceUsers. */
  userIds: string[];
  readonly bots: Map<string, BotRecord>;
  botIds: string[];
  /** Admin ARN → time it became admin. */
  readonly admins: Map<string, number>;
  adminArns: string[];
  retention: { settings: unknown; initiatedMs: number } | undefined;
}

export type OperationInput = Record<string, unknown>;
export type OperationOutput = Record<string, unknown> | undefined;
export type OperationHandler = (input: OperationInput) => OperationOutput;

export interface SeedUser {
  readonly userId: string;
  readonly name: string;
  readonly metadata: string | undefined;
  readonly createdMs: number;
  readonly expirationDays: number | undefined;
}

interface UserSnapshot {
  id: string;
  name: string;
  metadata?: string;
  createdMs: number;
  updatedMs: number;
  expirationDays?: number;
  tags?: Tag[];
  endpoints?: EndpointRecord[];
}

interface AppInstanceSnapshot {
  arn: string;
  name: string;
  metadata?: string;
  createdMs: number;
  updatedMs: number;
  tags: Tag[];
  retention?: { settings: unknown; initiatedMs: number };
  users: UserSnapshot[];
  bots: BotRecord[];
  admins: [string, number][];
}

/** The service's whole state as JSON-able data: what `--persist` saves. */
export interface ServiceSnapshot {
  appInstances: AppInstanceSnapshot[];
  idempotencyTokens: [string, { fingerprint: string; result: OperationOutput }][];
}

const DAY_MS = 86_400_000;
const DEFAULT_MAX_RESULTS = 50;
const EXPIRATION_CRITERION = 'CREATED_TIMESTAMP';

const seconds = (epochMs: number): number => epochMs / 1000;

/** JSON with sorted object keys, so two equal inputs always give the same fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sameTags(a: readonly Tag[], b: readonly Tag[]): boolean {
  const key = (tags: readonly Tag[]) => canonicalJson([...tags].sort((x, y) => (x.Key < y.Key ? -1 : 1)));
  return key(a) === key(b);
}

function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) byKey.set(tag.Key, tag.Value);
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

export interface ServiceConfig {
  readonly region: string;
  readonly accountId: string;
  readonly expiryDelaySeconds: number;
  readonly limits: ResourceLimits;
  readonly clock: EmulatorClock;
  /** Told of every user deletion: by the expiry sweeper (`expired`) or DeleteAppInstanceUser (`deleted`). */
  readonly onUserRemoved?: (userArn: string, reason: 'expired' | 'deleted', atMs: number) => void;
}

export class ChimeIdentityService {
  private readonly appInstances = new Map<string, AppInstanceRecord>();
  private appInstanceArns: string[] = [];
  /** Users that have ExpirationSettings: the only ones the sweeper needs to look at. */
  private readonly expiring = new Set<UserRecord>();
  /** `<operation> <ClientRequestToken>` → fingerprint of the other parameters and the response. */
  private readonly idempotencyTokens = new Map<string, { fingerprint: string; result: OperationOutput }>();
  readonly handlers: Readonly<Record<string, OperationHandler>>;

  constructor(private readonly config: ServiceConfig) {
    this.handlers = this.buildHandlers();
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

  // ---- expiry -------------------------------------------------------------------------------------

  private deletionDueMs(user: UserRecord): number {
    return user.expirationDays === undefined
      ? Number.POSITIVE_INFINITY
      : user.createdMs + user.expirationDays * DAY_MS + this.config.expiryDelaySeconds * 1000;
  }

  /** Deletes every user whose expiry plus the deletion delay has passed; returns how many. */
  sweepExpired(): number {
    const now = this.config.clock.now();
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

  private deleteUser(app: AppInstanceRecord, user: UserRecord): void {
    this.forgetUser(app, user);
    removeSorted(app.userIds, user.userId);
  }

  private setExpiration(user: UserRecord, days: number | undefined): void {
    user.expirationDays = days;
    if (days === undefined) this.expiring.delete(user);
    else this.expiring.add(user);
  }

  // ---- lookups ------------------------------------------------------------------------------------

  /** Checks an ARN names a resource of an allowed kind in this emulator's region and account. */
  private resolveArn(arn: string, member: string, kinds: readonly ResourceKind[]): ParsedArn {
    const parsed = parseArn(arn);
    if (!parsed || parsed.service !== 'chime' || !kinds.includes(parsed.kind)) {
      const wanted = kinds.map((kind) => (kind === 'app-instance' ? 'AppInstance' : `AppInstance ${kind}`));
      throw badRequest(`${member}: ${arn} is not an ${wanted.join(' or ')} ARN`);
    }
    if (
      parsed.partition !== 'aws' ||
      parsed.region !== this.config.region ||
      parsed.account !== this.config.accountId
    ) {
      throw forbidden(
        `${member}: ${arn} is outside this emulator's partition/region/account (aws/${this.config.region}/${this.config.accountId})`,
      );
    }
    return parsed;
  }

  private requireAppInstance(arn: string, member = 'AppInstanceArn'): AppInstanceRecord {
    const parsed = this.resolveArn(arn, member, ['app-instance']);
    const app = this.appInstances.get(parsed.appInstanceArn);
    if (!app) throw notFound(`AppInstance ${arn} does not exist`);
    return app;
  }

  private findUser(parsed: ParsedArn): { app: AppInstanceRecord; user: UserRecord } | undefined {
    const app = this.appInstances.get(parsed.appInstanceArn);
    return app && this.findUserIn(app, parsed.id);
  }

  private findUserIn(
    app: AppInstanceRecord,
    userId: string,
  ): { app: AppInstanceRecord; user: UserRecord } | undefined {
    const user = app.users.get(userId);
    if (!user) return undefined;
    // The periodic sweep may lag by up to its interval; a user already due for deletion is gone.
    const now = this.config.clock.now();
    if (now >= this.deletionDueMs(user)) {
      this.deleteUser(app, user);
      this.config.onUserRemoved?.(user.arn, 'expired', now);
      return undefined;
    }
    return { app, user };
  }

  private requireUser(
    arn: string,
    member = 'AppInstanceUserArn',
  ): { app: AppInstanceRecord; user: UserRecord } {
    const found = this.findUser(this.resolveArn(arn, member, ['user']));
    if (!found) throw notFound(`AppInstanceUser ${arn} does not exist`);
    return found;
  }

  private requireBot(arn: string, member = 'AppInstanceBotArn'): { app: AppInstanceRecord; bot: BotRecord } {
    const parsed = this.resolveArn(arn, member, ['bot']);
    const app = this.appInstances.get(parsed.appInstanceArn);
    const bot = app?.bots.get(parsed.id);
    if (!app || !bot) throw notFound(`AppInstanceBot ${arn} does not exist`);
    return { app, bot };
  }

  /** Any taggable resource: returns the record whose `tags` field is read and written. */
  private requireTaggable(arn: string): { tags: Tag[] } {
    const parsed = this.resolveArn(arn, 'ResourceARN', ['app-instance', 'user', 'bot']);
    if (parsed.kind === 'app-instance') return this.requireAppInstance(arn, 'ResourceARN');
    if (parsed.kind === 'user') return this.requireUser(arn, 'ResourceARN').user;
    return this.requireBot(arn, 'ResourceARN').bot;
  }

  private nameOf(app: AppInstanceRecord, arn: string): string | undefined {
    const parsed = parseArn(arn);
    if (parsed?.kind === 'user') return app.users.get(parsed.id)?.name;
    if (parsed?.kind === 'bot') return app.bots.get(parsed.id)?.name;
    return undefined;
  }

  // ---- idempotency --------------------------------------------------------------------------------

  /**
   * ClientRequestToken semantics, scoped per operation (the emulator has one account): the same token with the
   * same other parameters returns the first result without creating anything; with different parameters it is
   * a ConflictException.
   */
  private idempotent(
    operation: string,
    input: OperationInput,
    create: () => OperationOutput,
  ): OperationOutput {
    const { ClientRequestToken: token, ...parameters } = input;
    const key = `${operation} ${String(token)}`;
    const fingerprint = canonicalJson(parameters);
    const previous = this.idempotencyTokens.get(key);
    if (previous) {
      if (previous.fingerprint === fingerprint) return previous.result;
      throw conflict(
        `ClientRequestToken: ${String(token)} was already used for ${operation} with different parameters`,
      );
    }
    const result = create();
    this.idempotencyTokens.set(key, { fingerprint, result });
    return result;
  }

  // ---- seeding ------------------------------------------------------------------------------------

  createAppInstanceDirect(name: string, metadata: string | undefined): string {
    if (this.appInstances.size >= this.config.limits.appInstancesPerAccount) {
      throw limitExceeded(
        `the account already has the maximum of ${this.config.limits.appInstancesPerAccount} AppInstances`,
      );
    }
    const now = this.config.clock.now();
    const arn = `arn:aws:chime:${this.config.region}:${this.config.accountId}:app-instance/${randomUUID()}`;
    this.appInstances.set(arn, {
      arn,
      name,
      metadata,
      createdMs: now,
      updatedMs: now,
      tags: [],
      users: new Map(),
      userIds: [],
      bots: new Map(),
      botIds: [],
      admins: new Map(),
      adminArns: [],
      retention: undefined,
    });
    insertSorted(this.appInstanceArns, arn);
    return arn;
  }

  /** Loads many users at once (admin seed): no quotas, one sort at the end. Users must be pre-validated. */
  seedUsers(appInstanceArn: string, users: readonly SeedUser[]): string[] {
    const app = this.requireAppInstance(appInstanceArn);
    const fresh = new Set<string>();
    for (let i = 0; i < users.length; i++) {
      const userId = (users[i] as SeedUser).userId;
      if (app.users.has(userId) || fresh.has(userId)) {
        throw conflict(`users[${i}].appInstanceUserId: ${userId} already exists in ${app.arn}`);
      }
      fresh.add(userId);
    }
    if (app.users.size + users.length > this.config.limits.usersPerAppInstance) {
      throw limitExceeded(
        `seeding ${users.length} users would exceed ${this.config.limits.usersPerAppInstance} AppInstanceUsers per AppInstance`,
      );
    }
    const arns: string[] = new Array(users.length);
    const prefix = `${app.arn}/user/`;
    for (let i = 0; i < users.length; i++) {
      const seed = users[i] as SeedUser;
      const user = new UserRecord(app, seed.userId, seed.name, seed.metadata, seed.createdMs, seed.createdMs);
      app.users.set(seed.userId, user);
      if (seed.expirationDays !== undefined) this.setExpiration(user, seed.expirationDays);
      app.userIds.push(seed.userId);
      arns[i] = prefix + seed.userId;
    }
    app.userIds.sort();
    return arns;
  }

  /** Removes an AppInstance created by a seed whose users then failed to load, so the failed seed changes nothing. */
  removeAppInstanceDirect(arn: string): void {
    const app = this.appInstances.get(arn);
    if (!app) return;
    for (const user of app.users.values()) this.expiring.delete(user);
    this.appInstances.delete(arn);
    removeSorted(this.appInstanceArns, arn);
  }

  /** How many users an AppInstance holds now (after the expiry sweep), or undefined when it does not exist. */
  userCount(appInstanceArn: string): number | undefined {
    return this.appInstances.get(appInstanceArn)?.users.size;
  }

  // ---- persistence --------------------------------------------------------------------------------

  /** Everything the service holds, as plain JSON-able data (see restore). */
  snapshot(): ServiceSnapshot {
    const appInstances: AppInstanceSnapshot[] = [];
    for (const arn of this.appInstanceArns) {
      const app = this.appInstances.get(arn) as AppInstanceRecord;
      appInstances.push({
        arn: app.arn,
        name: app.name,
        ...(app.metadata === undefined ? {} : { metadata: app.metadata }),
        createdMs: app.createdMs,
        updatedMs: app.updatedMs,
        tags: app.tags,
        ...(app.retention ? { retention: app.retention } : {}),
        users: app.userIds.flatMap((id) => {
          const user = app.users.get(id);
          if (!user) return [];
          const entry: UserSnapshot = {
            id: user.userId,
            name: user.name,
            createdMs: user.createdMs,
            updatedMs: user.updatedMs,
          };
          if (user.metadata !== undefined) entry.metadata = user.metadata;
          if (user.expirationDays !== undefined) entry.expirationDays = user.expirationDays;
          if (user.tags.length > 0) entry.tags = user.tags;
          if (user.endpoints && user.endpoints.size > 0) entry.endpoints = [...user.endpoints.values()];
          return [entry];
        }),
        bots: app.botIds.flatMap((id) => {
          const bot = app.bots.get(id);
          return bot ? [bot] : [];
        }),
        admins: [...app.admins],
      });
    }
    return { appInstances, idempotencyTokens: [...this.idempotencyTokens] };
  }

  /** Replaces everything with a snapshot taken by `snapshot()` (by this version of the emulator). */
  restore(snapshot: ServiceSnapshot): void {
    this.reset();
    for (const saved of snapshot.appInstances) {
      const app: AppInstanceRecord = {
        arn: saved.arn,
        name: saved.name,
        metadata: saved.metadata,
        createdMs: saved.createdMs,
        updatedMs: saved.updatedMs,
        tags: saved.tags,
        users: new Map(),
        userIds: [],
        bots: new Map(),
        botIds: [],
        admins: new Map(saved.admins),
        adminArns: saved.admins.map(([arn]) => arn).sort(),
        retention: saved.retention,
      };
      for (const entry of saved.users) {
        const user = new UserRecord(
          app,
          entry.id,
          entry.name,
          entry.metadata,
          entry.createdMs,
          entry.updatedMs,
        );
        if (entry.tags) user.tags = entry.tags;
        if (entry.endpoints) user.endpoints = new Map(entry.endpoints.map((e) => [e.endpointId, { ...e }]));
        app.users.set(entry.id, user);
        app.userIds.push(entry.id);
        if (entry.expirationDays !== undefined) this.setExpiration(user, entry.expirationDays);
      }
      app.userIds.sort();
      for (const bot of saved.bots) {
        app.bots.set(bot.botId, { ...bot });
        app.botIds.push(bot.botId);
      }
      app.botIds.sort();
      this.appInstances.set(app.arn, app);
      this.appInstanceArns.push(app.arn);
    }
    this.appInstanceArns.sort();
    for (const [key, value] of snapshot.idempotencyTokens) this.idempotencyTokens.set(key, value);
  }

  // ---- output shapes ------------------------------------------------------------------------------

  private describeUser(user: UserRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {
      AppInstanceUserArn: user.arn,
      Name: user.name,
      CreatedTimestamp: seconds(user.createdMs),
      LastUpdatedTimestamp: seconds(user.updatedMs),
    };
    if (user.metadata !== undefined) out.Metadata = user.metadata;
    if (user.expirationDays !== undefined) {
      out.ExpirationSettings = {
        ExpirationDays: user.expirationDays,
        ExpirationCriterion: EXPIRATION_CRITERION,
      };
    }
    return out;
  }

  private endpointSummary(userArn: string, endpoint: EndpointRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {
      AppInstanceUserArn: userArn,
      EndpointId: endpoint.endpointId,
      Type: endpoint.type,
      AllowMessages: endpoint.allowMessages,
      EndpointState: { Status: 'ACTIVE' },
    };
    if (endpoint.name !== undefined) out.Name = endpoint.name;
    return out;
  }

  private botOutput(bot: BotRecord, full: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = { AppInstanceBotArn: bot.arn };
    if (bot.name !== undefined) out.Name = bot.name;
    if (bot.metadata !== undefined) out.Metadata = bot.metadata;
    if (full) {
      out.Configuration = bot.configuration;
      out.CreatedTimestamp = seconds(bot.createdMs);
      out.LastUpdatedTimestamp = seconds(bot.updatedMs);
    }
    return out;
  }

  private appInstanceSummary(app: AppInstanceRecord): Record<string, unknown> {
    const out: Record<string, unknown> = { AppInstanceArn: app.arn, Name: app.name };
    if (app.metadata !== undefined) out.Metadata = app.metadata;
    return out;
  }

  private identity(app: AppInstanceRecord, arn: string): Record<string, unknown> {
    const name = this.nameOf(app, arn);
    return name === undefined ? { Arn: arn } : { Arn: arn, Name: name };
  }

  // ---- operations ---------------------------------------------------------------------------------

  private buildHandlers(): Record<string, OperationHandler> {
    const limits = this.config.limits;
    const now = () => this.config.clock.now();
    const maxResults = (input: OperationInput) =>
      (input.MaxResults as number | undefined) ?? DEFAULT_MAX_RESULTS;
    const nextToken = (input: OperationInput) => (input.NextToken as string | undefined) || undefined;
    const checkTagCount = (tags: readonly Tag[]) => {
      if (tags.length > limits.tagsPerResource) {
        throw limitExceeded(`a resource can have at most ${limits.tagsPerResource} tags`);
      }
    };

    return {
      // AppInstances
      CreateAppInstance: (input) =>
        this.idempotent('CreateAppInstance', input, () => {
          const tags = mergeTags([], (input.Tags as Tag[] | undefined) ?? []);
          const arn = this.createAppInstanceDirect(
            input.Name as string,
            input.Metadata as string | undefined,
          );
          (this.appInstances.get(arn) as AppInstanceRecord).tags = tags;
          return { AppInstanceArn: arn };
        }),
      DescribeAppInstance: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        return {
          AppInstance: {
            ...this.appInstanceSummary(app),
            CreatedTimestamp: seconds(app.createdMs),
            LastUpdatedTimestamp: seconds(app.updatedMs),
          },
        };
      },
      ListAppInstances: (input) => {
        const page = pageOf(
          this.appInstanceArns,
          'ListAppInstances',
          maxResults(input),
          nextToken(input),
          (arn) => {
            const app = this.appInstances.get(arn);
            return app && this.appInstanceSummary(app);
          },
        );
        return { AppInstances: page.items, NextToken: page.nextToken };
      },
      UpdateAppInstance: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        app.name = input.Name as string;
        app.metadata = input.Metadata as string;
        app.updatedMs = now();
        return { AppInstanceArn: app.arn };
      },
      DeleteAppInstance: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        for (const user of app.users.values()) this.expiring.delete(user);
        this.appInstances.delete(app.arn);
        removeSorted(this.appInstanceArns, app.arn);
        return undefined;
      },
      PutAppInstanceRetentionSettings: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        app.retention = { settings: input.AppInstanceRetentionSettings, initiatedMs: now() };
        return {
          AppInstanceRetentionSettings: app.retention.settings,
          InitiateDeletionTimestamp: seconds(app.retention.initiatedMs),
        };
      },
      GetAppInstanceRetentionSettings: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        if (!app.retention) return { AppInstanceRetentionSettings: {} };
        return {
          AppInstanceRetentionSettings: app.retention.settings,
          InitiateDeletionTimestamp: seconds(app.retention.initiatedMs),
        };
      },

      // AppInstanceUsers
      CreateAppInstanceUser: (input) =>
        this.idempotent('CreateAppInstanceUser', input, () => {
          const app = this.requireAppInstance(input.AppInstanceArn as string);
          const userId = input.AppInstanceUserId as string;
          const name = input.Name as string;
          const metadata = input.Metadata as string | undefined;
          const expiration = input.ExpirationSettings as ExpirationSettings | undefined;
          const tags = input.Tags ? mergeTags([], input.Tags as Tag[]) : NO_TAGS;
          const existing = this.findUserIn(app, userId);
          if (existing) {
            const { user } = existing;
            const identical =
              user.name === name &&
              user.metadata === metadata &&
              user.expirationDays === expiration?.ExpirationDays &&
              sameTags(user.tags, tags);
            if (!identical) {
              throw conflict(
                `AppInstanceUserId: ${userId} already exists in ${app.arn} with different attributes (Name, Metadata, ExpirationSettings or Tags)`,
              );
            }
            return { AppInstanceUserArn: user.arn };
          }
          if (app.users.size >= limits.usersPerAppInstance) {
            throw limitExceeded(
              `${app.arn} already has the maximum of ${limits.usersPerAppInstance} AppInstanceUsers`,
            );
          }
          const created = now();
          const user = new UserRecord(app, userId, name, metadata, created, created);
          user.tags = tags;
          app.users.set(userId, user);
          insertSorted(app.userIds, userId);
          if (expiration) this.setExpiration(user, expiration.ExpirationDays);
          return { AppInstanceUserArn: user.arn };
        }),
      DescribeAppInstanceUser: (input) => ({
        AppInstanceUser: this.describeUser(this.requireUser(input.AppInstanceUserArn as string).user),
      }),
      ListAppInstanceUsers: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        const dueBefore = now();
        const page = pageOf(
          app.userIds,
          `ListAppInstanceUsers ${app.arn}`,
          maxResults(input),
          nextToken(input),
          (id) => {
            const user = app.users.get(id);
            if (!user || dueBefore >= this.deletionDueMs(user)) return undefined;
            const summary: Record<string, unknown> = { AppInstanceUserArn: user.arn, Name: user.name };
            if (user.metadata !== undefined) summary.Metadata = user.metadata;
            return summary;
          },
        );
        return { AppInstanceArn: app.arn, AppInstanceUsers: page.items, NextToken: page.nextToken };
      },
      UpdateAppInstanceUser: (input) => {
        const { user } = this.requireUser(input.AppInstanceUserArn as string);
        user.name = input.Name as string;
        user.metadata = input.Metadata as string;
        user.updatedMs = now();
        return { AppInstanceUserArn: user.arn };
      },
      PutAppInstanceUserExpirationSettings: (input) => {
        const { user } = this.requireUser(input.AppInstanceUserArn as string);
        const settings = input.ExpirationSettings as ExpirationSettings | undefined;
        this.setExpiration(user, settings?.ExpirationDays);
        user.updatedMs = now();
        return {
          AppInstanceUserArn: user.arn,
          ExpirationSettings: settings && {
            ExpirationDays: settings.ExpirationDays,
            ExpirationCriterion: settings.ExpirationCriterion,
          },
        };
      },
      DeleteAppInstanceUser: (input) => {
        const { app, user } = this.requireUser(input.AppInstanceUserArn as string);
        this.deleteUser(app, user);
        this.config.onUserRemoved?.(user.arn, 'deleted', now());
        return undefined;
      },

      // AppInstanceAdmins
      CreateAppInstanceAdmin: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        const adminArn = input.AppInstanceAdminArn as string;
        const parsed = this.resolveArn(adminArn, 'AppInstanceAdminArn', ['user', 'bot']);
        if (parsed.appInstanceArn !== app.arn) {
          throw badRequest(`AppInstanceAdminArn: ${adminArn} does not belong to AppInstance ${app.arn}`);
        }
        const exists = parsed.kind === 'user' ? this.findUser(parsed) !== undefined : app.bots.has(parsed.id);
        if (!exists) throw notFound(`${adminArn} does not exist`);
        if (!app.admins.has(adminArn)) {
          if (app.admins.size >= limits.adminsPerAppInstance) {
            throw limitExceeded(
              `${app.arn} already has the maximum of ${limits.adminsPerAppInstance} admins`,
            );
          }
          app.admins.set(adminArn, now());
          insertSorted(app.adminArns, adminArn);
        }
        return { AppInstanceAdmin: this.identity(app, adminArn), AppInstanceArn: app.arn };
      },
      DescribeAppInstanceAdmin: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        const adminArn = input.AppInstanceAdminArn as string;
        this.resolveArn(adminArn, 'AppInstanceAdminArn', ['user', 'bot']);
        const since = app.admins.get(adminArn);
        if (since === undefined) throw notFound(`${adminArn} is not an admin of ${app.arn}`);
        return {
          AppInstanceAdmin: {
            Admin: this.identity(app, adminArn),
            AppInstanceArn: app.arn,
            CreatedTimestamp: seconds(since),
          },
        };
      },
      ListAppInstanceAdmins: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        const page = pageOf(
          app.adminArns,
          `ListAppInstanceAdmins ${app.arn}`,
          maxResults(input),
          nextToken(input),
          (arn) => (app.admins.has(arn) ? { Admin: this.identity(app, arn) } : undefined),
        );
        return { AppInstanceArn: app.arn, AppInstanceAdmins: page.items, NextToken: page.nextToken };
      },
      DeleteAppInstanceAdmin: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        const adminArn = input.AppInstanceAdminArn as string;
        this.resolveArn(adminArn, 'AppInstanceAdminArn', ['user', 'bot']);
        if (!app.admins.delete(adminArn)) throw notFound(`${adminArn} is not an admin of ${app.arn}`);
        removeSorted(app.adminArns, adminArn);
        return undefined;
      },

      // AppInstanceBots
      CreateAppInstanceBot: (input) =>
        this.idempotent('CreateAppInstanceBot', input, () => {
          const app = this.requireAppInstance(input.AppInstanceArn as string);
          const botId = randomUUID();
          const created = now();
          const bot: BotRecord = {
            arn: `${app.arn}/bot/${botId}`,
            botId,
            name: input.Name as string | undefined,
            metadata: input.Metadata as string | undefined,
            configuration: input.Configuration,
            createdMs: created,
            updatedMs: created,
            tags: mergeTags([], (input.Tags as Tag[] | undefined) ?? []),
          };
          app.bots.set(botId, bot);
          insertSorted(app.botIds, botId);
          return { AppInstanceBotArn: bot.arn };
        }),
      DescribeAppInstanceBot: (input) => ({
        AppInstanceBot: this.botOutput(this.requireBot(input.AppInstanceBotArn as string).bot, true),
      }),
      ListAppInstanceBots: (input) => {
        const app = this.requireAppInstance(input.AppInstanceArn as string);
        const page = pageOf(
          app.botIds,
          `ListAppInstanceBots ${app.arn}`,
          maxResults(input),
          nextToken(input),
          (id) => {
            const bot = app.bots.get(id);
            return bot && this.botOutput(bot, false);
          },
        );
        return { AppInstanceArn: app.arn, AppInstanceBots: page.items, NextToken: page.nextToken };
      },
      UpdateAppInstanceBot: (input) => {
        const { bot } = this.requireBot(input.AppInstanceBotArn as string);
        bot.name = input.Name as string;
        bot.metadata = input.Metadata as string;
        if (input.Configuration !== undefined) bot.configuration = input.Configuration;
        bot.updatedMs = now();
        return { AppInstanceBotArn: bot.arn };
      },
      DeleteAppInstanceBot: (input) => {
        const { app, bot } = this.requireBot(input.AppInstanceBotArn as string);
        app.bots.delete(bot.botId);
        removeSorted(app.botIds, bot.botId);
        if (app.admins.delete(bot.arn)) removeSorted(app.adminArns, bot.arn);
        return undefined;
      },

      // AppInstanceUserEndpoints
      RegisterAppInstanceUserEndpoint: (input) =>
        this.idempotent('RegisterAppInstanceUserEndpoint', input, () => {
          const { user } = this.requireUser(input.AppInstanceUserArn as string);
          user.endpoints ??= new Map();
          if (user.endpoints.size >= limits.endpointsPerUser) {
            throw limitExceeded(
              `${user.arn} already has the maximum of ${limits.endpointsPerUser} endpoints`,
            );
          }
          const created = now();
          const endpoint: EndpointRecord = {
            endpointId: randomUUID(),
            name: input.Name as string | undefined,
            type: input.Type as string,
            resourceArn: input.ResourceArn as string,
            attributes: input.EndpointAttributes as Record<string, string>,
            allowMessages: (input.AllowMessages as string | undefined) ?? 'ALL',
            createdMs: created,
            updatedMs: created,
          };
          user.endpoints.set(endpoint.endpointId, endpoint);
          return { AppInstanceUserArn: user.arn, EndpointId: endpoint.endpointId };
        }),
      DescribeAppInstanceUserEndpoint: (input) => {
        const { user, endpoint } = this.requireEndpoint(input);
        return {
          AppInstanceUserEndpoint: {
            ...this.endpointSummary(user.arn, endpoint),
            ResourceArn: endpoint.resourceArn,
            EndpointAttributes: endpoint.attributes,
            CreatedTimestamp: seconds(endpoint.createdMs),
            LastUpdatedTimestamp: seconds(endpoint.updatedMs),
          },
        };
      },
      ListAppInstanceUserEndpoints: (input) => {
        const { user } = this.requireUser(input.AppInstanceUserArn as string);
        const endpoints = user.endpoints ?? new Map<string, EndpointRecord>();
        const ids = [...endpoints.keys()].sort();
        const page = pageOf(
          ids,
          `ListAppInstanceUserEndpoints ${user.arn}`,
          maxResults(input),
          nextToken(input),
          (id) => {
            const endpoint = endpoints.get(id);
            return endpoint && this.endpointSummary(user.arn, endpoint);
          },
        );
        return { AppInstanceUserEndpoints: page.items, NextToken: page.nextToken };
      },
      UpdateAppInstanceUserEndpoint: (input) => {
        const { user, endpoint } = this.requireEndpoint(input);
        if (input.Name !== undefined) endpoint.name = input.Name as string;
        if (input.AllowMessages !== undefined) endpoint.allowMessages = input.AllowMessages as string;
        endpoint.updatedMs = now();
        return { AppInstanceUserArn: user.arn, EndpointId: endpoint.endpointId };
      },
      DeregisterAppInstanceUserEndpoint: (input) => {
        const { user, endpoint } = this.requireEndpoint(input);
        user.endpoints?.delete(endpoint.endpointId);
        return undefined;
      },

      // Tags
      TagResource: (input) => {
        const resource = this.requireTaggable(input.ResourceARN as string);
        const merged = mergeTags(resource.tags, input.Tags as Tag[]);
        checkTagCount(merged);
        resource.tags = merged;
        return undefined;
      },
      UntagResource: (input) => {
        const resource = this.requireTaggable(input.ResourceARN as string);
        const removed = new Set(input.TagKeys as string[]);
        resource.tags = resource.tags.filter((tag) => !removed.has(tag.Key));
        return undefined;
      },
      ListTagsForResource: (input) => ({ Tags: this.requireTaggable(input.ResourceARN as string).tags }),
    };
  }

  private requireEndpoint(input: OperationInput): { user: UserRecord; endpoint: EndpointRecord } {
    const { user } = this.requireUser(input.AppInstanceUserArn as string);
    const endpointId = input.EndpointId as string;
    const endpoint = user.endpoints?.get(endpointId);
    if (!endpoint) throw notFound(`endpoint ${endpointId} of ${user.arn} does not exist`);
    return { user, endpoint };
  }
}
