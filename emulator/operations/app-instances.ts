/** AppInstances: create, describe, list, update, delete, and their retention settings. */
import type { AppInstanceSummary } from '@aws-sdk/client-chime-sdk-identity';
import { pageOf } from '../pagination';
import { type AppInstanceRecord, mergeTags } from '../records';
import type { IdentityStore } from '../store';
import { type Operations, pageRequest, seconds } from './common';
import type { InputOf, OutputOf, Wire } from './types';

function summary(app: AppInstanceRecord): Wire<AppInstanceSummary> {
  const out: Wire<AppInstanceSummary> = { AppInstanceArn: app.arn, Name: app.name };
  if (app.metadata !== undefined) out.Metadata = app.metadata;
  return out;
}

function createAppInstance(
  store: IdentityStore,
  input: InputOf<'CreateAppInstance'>,
): OutputOf<'CreateAppInstance'> {
  return store.idempotent('CreateAppInstance', input, () => {
    const tags = mergeTags([], input.Tags ?? []);
    return { AppInstanceArn: store.createAppInstance(input.Name, input.Metadata, tags).arn };
  });
}

function listAppInstances(
  store: IdentityStore,
  input: InputOf<'ListAppInstances'>,
): OutputOf<'ListAppInstances'> {
  const { maxResults, nextToken } = pageRequest(input);
  const page = pageOf(store.appInstanceArns, 'ListAppInstances', maxResults, nextToken, (arn) => {
    const app = store.appInstances.get(arn);
    return app && summary(app);
  });
  return { AppInstances: page.items, NextToken: page.nextToken };
}

function retentionOutput(app: AppInstanceRecord): OutputOf<'GetAppInstanceRetentionSettings'> {
  if (!app.retention) return { AppInstanceRetentionSettings: {} };
  return {
    AppInstanceRetentionSettings: app.retention.settings,
    InitiateDeletionTimestamp: seconds(app.retention.initiatedMs),
  };
}

export const APP_INSTANCE_OPERATIONS: Operations<
  | 'CreateAppInstance'
  | 'DescribeAppInstance'
  | 'ListAppInstances'
  | 'UpdateAppInstance'
  | 'DeleteAppInstance'
  | 'PutAppInstanceRetentionSettings'
  | 'GetAppInstanceRetentionSettings'
> = {
  CreateAppInstance: createAppInstance,
  DescribeAppInstance: (store, input) => {
    const app = store.requireAppInstance(input.AppInstanceArn);
    return {
      AppInstance: {
        ...summary(app),
        CreatedTimestamp: seconds(app.createdMs),
        LastUpdatedTimestamp: seconds(app.updatedMs),
      },
    };
  },
  ListAppInstances: listAppInstances,
  UpdateAppInstance: (store, input) => {
    const app = store.requireAppInstance(input.AppInstanceArn);
    app.name = input.Name;
    app.metadata = input.Metadata;
    app.updatedMs = store.now();
    return { AppInstanceArn: app.arn };
  },
  DeleteAppInstance: (store, input) => {
    store.removeAppInstance(store.requireAppInstance(input.AppInstanceArn).arn);
    return undefined;
  },
  PutAppInstanceRetentionSettings: (store, input) => {
    const app = store.requireAppInstance(input.AppInstanceArn);
    app.retention = { settings: input.AppInstanceRetentionSettings, initiatedMs: store.now() };
    return retentionOutput(app);
  },
  GetAppInstanceRetentionSettings: (store, input) =>
    retentionOutput(store.requireAppInstance(input.AppInstanceArn)),
};
