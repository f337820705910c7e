/** AppInstanceUsers: create (idempotent), describe, list, update, expiration settings, delete; and the admin seed. */
import type { AppInstanceUser, AppInstanceUserSummary } from '@aws-sdk/client-chime-sdk-identity';
import { conflict, limitExceeded } from '../errors';
import { insertSorted, pageOf } from '../pagination';
import { mergeTags, NO_TAGS, sameTags, UserRecord } from '../records';
import type { IdentityStore } from '../store';
import { type Operations, pageRequest, seconds } from './common';
import type { InputOf, OutputOf, Wire } from './types';

const EXPIRATION_CRITERION = 'CREATED_TIMESTAMP';

/** A user of the admin seed, validated by the admin API. */
export interface SeedUser {
  readonly userId: string;
  readonly name: string;
  readonly metadata: string | undefined;
  readonly createdMs: number;
  readonly expirationDays: number | undefined;
}

function describeUser(user: UserRecord): Wire<AppInstanceUser> {
  const out: Wire<AppInstanceUser> = {
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

/** The same user id again is the same user when every attribute matches (AWS answers with its ARN). */
function createUser(
  store: IdentityStore,
  input: InputOf<'CreateAppInstanceUser'>,
): OutputOf<'CreateAppInstanceUser'> {
  const app = store.requireAppInstance(input.AppInstanceArn);
  const { AppInstanceUserId: userId, Name: name, Metadata: metadata, ExpirationSettings: expiration } = input;
  const tags = input.Tags ? mergeTags([], input.Tags) : NO_TAGS;
  const existing = store.findUserIn(app, userId);
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
  const { usersPerAppInstance } = store.limits;
  if (app.users.size >= usersPerAppInstance) {
    throw limitExceeded(`${app.arn} already has the maximum of ${usersPerAppInstance} AppInstanceUsers`);
  }
  const created = store.now();
  const user = new UserRecord(app, userId, name, metadata, created, created);
  user.tags = tags;
  app.users.set(userId, user);
  insertSorted(app.userIds, userId);
  if (expiration) store.setExpiration(user, expiration.ExpirationDays);
  return { AppInstanceUserArn: user.arn };
}

function listUsers(
  store: IdentityStore,
  input: InputOf<'ListAppInstanceUsers'>,
): OutputOf<'ListAppInstanceUsers'> {
  const app = store.requireAppInstance(input.AppInstanceArn);
  const dueBefore = store.now();
  const { maxResults, nextToken } = pageRequest(input);
  const page = pageOf(app.userIds, `ListAppInstanceUsers ${app.arn}`, maxResults, nextToken, (id) => {
    const user = app.users.get(id);
    if (!user || dueBefore >= store.deletionDueMs(user)) return undefined;
    const summary: Wire<AppInstanceUserSummary> = { AppInstanceUserArn: user.arn, Name: user.name };
    if (user.metadata !== undefined) summary.Metadata = user.metadata;
    return summary;
  });
  return { AppInstanceArn: app.arn, AppInstanceUsers: page.items, NextToken: page.nextToken };
}

export const USER_OPERATIONS: Operations<
  | 'CreateAppInstanceUser'
  | 'DescribeAppInstanceUser'
  | 'ListAppInstanceUsers'
  | 'UpdateAppInstanceUser'
  | 'PutAppInstanceUserExpirationSettings'
  | 'DeleteAppInstanceUser'
> = {
  CreateAppInstanceUser: (store, input) =>
    store.idempotent('CreateAppInstanceUser', input, () => createUser(store, input)),
  DescribeAppInstanceUser: (store, input) => ({
    AppInstanceUser: describeUser(store.requireUser(input.AppInstanceUserArn).user),
  }),
  ListAppInstanceUsers: listUsers,
  UpdateAppInstanceUser: (store, input) => {
    const { user } = store.requireUser(input.AppInstanceUserArn);
    user.name = input.Name;
    user.metadata = input.Metadata;
    user.updatedMs = store.now();
    return { AppInstanceUserArn: user.arn };
  },
  PutAppInstanceUserExpirationSettings: (store, input) => {
    const { user } = store.requireUser(input.AppInstanceUserArn);
    const settings = input.ExpirationSettings;
    store.setExpiration(user, settings?.ExpirationDays);
    user.updatedMs = store.now();
    return {
      AppInstanceUserArn: user.arn,
      ExpirationSettings: settings && {
        ExpirationDays: settings.ExpirationDays,
        ExpirationCriterion: settings.ExpirationCriterion,
      },
    };
  },
  DeleteAppInstanceUser: (store, input) => {
    const { app, user } = store.requireUser(input.AppInstanceUserArn);
    store.deleteUser(app, user, 'deleted', store.now());
    return undefined;
  },
};

/** Loads many users at once (admin seed): no quotas, one sort at the end. Users must be pre-validated. */
export function seedUsers(
  store: IdentityStore,
  appInstanceArn: string,
  users: readonly SeedUser[],
): string[] {
  const app = store.requireAppInstance(appInstanceArn);
  const fresh = new Set<string>();
  for (const [index, { userId }] of users.entries()) {
    if (app.users.has(userId) || fresh.has(userId)) {
      throw conflict(`users[${index}].appInstanceUserId: ${userId} already exists in ${app.arn}`);
    }
    fresh.add(userId);
  }
  const { usersPerAppInstance } = store.limits;
  if (app.users.size + users.length > usersPerAppInstance) {
    throw limitExceeded(
      `seeding ${users.length} users would exceed ${usersPerAppInstance} AppInstanceUsers per AppInstance`,
    );
  }
  const arns: string[] = new Array(users.length);
  const prefix = `${app.arn}/user/`;
  for (const [index, seed] of users.entries()) {
    const user = new UserRecord(app, seed.userId, seed.name, seed.metadata, seed.createdMs, seed.createdMs);
    app.users.set(seed.userId, user);
    if (seed.expirationDays !== undefined) store.setExpiration(user, seed.expirationDays);
    app.userIds.push(seed.userId);
    arns[index] = prefix + seed.userId;
  }
  app.userIds.sort();
  return arns;
}
