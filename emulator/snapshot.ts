/**
 * The service's state as JSON-able data, what `--persist` saves inside the state file (persistence.ts), and
 * back. The shapes below are the file's format: change them only together with persistence.ts's VERSION.
 */
import {
  type AppInstanceRecord,
  type BotRecord,
  type EndpointRecord,
  type RetentionRecord,
  type Tag,
  UserRecord,
} from './records';
import type { IdempotencyRecord, IdentityStore } from './store';

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
  retention?: RetentionRecord;
  users: UserSnapshot[];
  bots: BotRecord[];
  admins: [string, number][];
}

/** The service's whole state as JSON-able data: what `--persist` saves. */
export interface ServiceSnapshot {
  appInstances: AppInstanceSnapshot[];
  idempotencyTokens: [string, IdempotencyRecord][];
}

function userSnapshot(user: UserRecord): UserSnapshot {
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
  return entry;
}

function appInstanceSnapshot(app: AppInstanceRecord): AppInstanceSnapshot {
  return {
    arn: app.arn,
    name: app.name,
    ...(app.metadata === undefined ? {} : { metadata: app.metadata }),
    createdMs: app.createdMs,
    updatedMs: app.updatedMs,
    tags: app.tags,
    ...(app.retention ? { retention: app.retention } : {}),
    users: app.userIds.flatMap((id) => {
      const user = app.users.get(id);
      return user ? [userSnapshot(user)] : [];
    }),
    bots: app.botIds.flatMap((id) => {
      const bot = app.bots.get(id);
      return bot ? [bot] : [];
    }),
    admins: [...app.admins],
  };
}

/** Everything the store holds, as plain JSON-able data (see restoreSnapshot). */
export function takeSnapshot(store: IdentityStore): ServiceSnapshot {
  const appInstances: AppInstanceSnapshot[] = [];
  for (const arn of store.appInstanceArns) {
    const app = store.appInstances.get(arn);
    if (app) appInstances.push(appInstanceSnapshot(app));
  }
  return { appInstances, idempotencyTokens: [...store.idempotencyTokens] };
}

function restoreAppInstance(store: IdentityStore, saved: AppInstanceSnapshot): AppInstanceRecord {
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
    const user = new UserRecord(app, entry.id, entry.name, entry.metadata, entry.createdMs, entry.updatedMs);
    if (entry.tags) user.tags = entry.tags;
    if (entry.endpoints) user.endpoints = new Map(entry.endpoints.map((e) => [e.endpointId, { ...e }]));
    app.users.set(entry.id, user);
    app.userIds.push(entry.id);
    if (entry.expirationDays !== undefined) store.setExpiration(user, entry.expirationDays);
  }
  app.userIds.sort();
  for (const bot of saved.bots) {
    app.bots.set(bot.botId, { ...bot });
    app.botIds.push(bot.botId);
  }
  app.botIds.sort();
  return app;
}

/** Replaces everything in the store with a snapshot taken by `takeSnapshot` (by this version of the emulator). */
export function restoreSnapshot(store: IdentityStore, snapshot: ServiceSnapshot): void {
  store.reset();
  for (const saved of snapshot.appInstances) {
    const app = restoreAppInstance(store, saved);
    store.appInstances.set(app.arn, app);
    store.appInstanceArns.push(app.arn);
  }
  store.appInstanceArns.sort();
  for (const [key, value] of snapshot.idempotencyTokens) store.idempotencyTokens.set(key, value);
}
