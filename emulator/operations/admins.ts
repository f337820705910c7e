/** AppInstanceAdmins: users or bots of the AppInstance made admins, described, listed and removed. */
import type { Identity } from '@aws-sdk/client-chime-sdk-identity';
import { parseArn } from '../arn';
import { badRequest, limitExceeded, notFound } from '../errors';
import { insertSorted, pageOf, removeSorted } from '../pagination';
import type { AppInstanceRecord } from '../records';
import type { IdentityStore } from '../store';
import { type Operations, pageRequest, seconds } from './common';
import type { InputOf, OutputOf, Wire } from './types';

/** An admin's ARN, with its name while the user or bot exists. */
function identity(app: AppInstanceRecord, arn: string): Wire<Identity> {
  const parsed = parseArn(arn);
  const name =
    parsed?.kind === 'user'
      ? app.users.get(parsed.id)?.name
      : parsed?.kind === 'bot'
        ? app.bots.get(parsed.id)?.name
        : undefined;
  return name === undefined ? { Arn: arn } : { Arn: arn, Name: name };
}

function createAdmin(
  store: IdentityStore,
  input: InputOf<'CreateAppInstanceAdmin'>,
): OutputOf<'CreateAppInstanceAdmin'> {
  const app = store.requireAppInstance(input.AppInstanceArn);
  const adminArn = input.AppInstanceAdminArn;
  const parsed = store.resolveArn(adminArn, 'AppInstanceAdminArn', ['user', 'bot']);
  if (parsed.appInstanceArn !== app.arn) {
    throw badRequest(`AppInstanceAdminArn: ${adminArn} does not belong to AppInstance ${app.arn}`);
  }
  const exists = parsed.kind === 'user' ? store.findUser(parsed) !== undefined : app.bots.has(parsed.id);
  if (!exists) throw notFound(`${adminArn} does not exist`);
  if (!app.admins.has(adminArn)) {
    const { adminsPerAppInstance } = store.limits;
    if (app.admins.size >= adminsPerAppInstance) {
      throw limitExceeded(`${app.arn} already has the maximum of ${adminsPerAppInstance} admins`);
    }
    app.admins.set(adminArn, store.now());
    insertSorted(app.adminArns, adminArn);
  }
  return { AppInstanceAdmin: identity(app, adminArn), AppInstanceArn: app.arn };
}

export const ADMIN_OPERATIONS: Operations<
  'CreateAppInstanceAdmin' | 'DescribeAppInstanceAdmin' | 'ListAppInstanceAdmins' | 'DeleteAppInstanceAdmin'
> = {
  CreateAppInstanceAdmin: createAdmin,
  DescribeAppInstanceAdmin: (store, input) => {
    const app = store.requireAppInstance(input.AppInstanceArn);
    const adminArn = input.AppInstanceAdminArn;
    store.resolveArn(adminArn, 'AppInstanceAdminArn', ['user', 'bot']);
    const since = app.admins.get(adminArn);
    if (since === undefined) throw notFound(`${adminArn} is not an admin of ${app.arn}`);
    return {
      AppInstanceAdmin: {
        Admin: identity(app, adminArn),
        AppInstanceArn: app.arn,
        CreatedTimestamp: seconds(since),
      },
    };
  },
  ListAppInstanceAdmins: (store, input) => {
    const app = store.requireAppInstance(input.AppInstanceArn);
    const { maxResults, nextToken } = pageRequest(input);
    const page = pageOf(app.adminArns, `ListAppInstanceAdmins ${app.arn}`, maxResults, nextToken, (arn) =>
      app.admins.has(arn) ? { Admin: identity(app, arn) } : undefined,
    );
    return { AppInstanceArn: app.arn, AppInstanceAdmins: page.items, NextToken: page.nextToken };
  },
  DeleteAppInstanceAdmin: (store, input) => {
    const app = store.requireAppInstance(input.AppInstanceArn);
    const adminArn = input.AppInstanceAdminArn;
    store.resolveArn(adminArn, 'AppInstanceAdminArn', ['user', 'bot']);
    if (!app.admins.delete(adminArn)) throw notFound(`${adminArn} is not an admin of ${app.arn}`);
    removeSorted(app.adminArns, adminArn);
    return undefined;
  },
};
