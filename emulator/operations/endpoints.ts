/** AppInstanceUserEndpoints: register (idempotent), describe, list, update, deregister. */
import { randomUUID } from 'node:crypto';
import type { AppInstanceUserEndpointSummary } from '@aws-sdk/client-chime-sdk-identity';
import { limitExceeded, notFound } from '../errors';
import { pageOf } from '../pagination';
import type { EndpointRecord, UserRecord } from '../records';
import type { IdentityStore } from '../store';
import { type Operations, pageRequest, seconds } from './common';
import type { InputOf, OutputOf, Wire } from './types';

function summary(userArn: string, endpoint: EndpointRecord): Wire<AppInstanceUserEndpointSummary> {
  const out: Wire<AppInstanceUserEndpointSummary> = {
    AppInstanceUserArn: userArn,
    EndpointId: endpoint.endpointId,
    Type: endpoint.type,
    AllowMessages: endpoint.allowMessages,
    EndpointState: { Status: 'ACTIVE' },
  };
  if (endpoint.name !== undefined) out.Name = endpoint.name;
  return out;
}

function requireEndpoint(
  store: IdentityStore,
  input: { readonly AppInstanceUserArn: string; readonly EndpointId: string },
): { user: UserRecord; endpoint: EndpointRecord } {
  const { user } = store.requireUser(input.AppInstanceUserArn);
  const endpoint = user.endpoints?.get(input.EndpointId);
  if (!endpoint) throw notFound(`endpoint ${input.EndpointId} of ${user.arn} does not exist`);
  return { user, endpoint };
}

function registerEndpoint(
  store: IdentityStore,
  input: InputOf<'RegisterAppInstanceUserEndpoint'>,
): OutputOf<'RegisterAppInstanceUserEndpoint'> {
  const { user } = store.requireUser(input.AppInstanceUserArn);
  user.endpoints ??= new Map();
  const { endpointsPerUser } = store.limits;
  if (user.endpoints.size >= endpointsPerUser) {
    throw limitExceeded(`${user.arn} already has the maximum of ${endpointsPerUser} endpoints`);
  }
  const created = store.now();
  const endpoint: EndpointRecord = {
    endpointId: randomUUID(),
    name: input.Name,
    type: input.Type,
    resourceArn: input.ResourceArn,
    attributes: input.EndpointAttributes,
    allowMessages: input.AllowMessages ?? 'ALL',
    createdMs: created,
    updatedMs: created,
  };
  user.endpoints.set(endpoint.endpointId, endpoint);
  return { AppInstanceUserArn: user.arn, EndpointId: endpoint.endpointId };
}

export const ENDPOINT_OPERATIONS: Operations<
  | 'RegisterAppInstanceUserEndpoint'
  | 'DescribeAppInstanceUserEndpoint'
  | 'ListAppInstanceUserEndpoints'
  | 'UpdateAppInstanceUserEndpoint'
  | 'DeregisterAppInstanceUserEndpoint'
> = {
  RegisterAppInstanceUserEndpoint: (store, input) =>
    store.idempotent('RegisterAppInstanceUserEndpoint', input, () => registerEndpoint(store, input)),
  DescribeAppInstanceUserEndpoint: (store, input) => {
    const { user, endpoint } = requireEndpoint(store, input);
    return {
      AppInstanceUserEndpoint: {
        ...summary(user.arn, endpoint),
        ResourceArn: endpoint.resourceArn,
        EndpointAttributes: endpoint.attributes,
        CreatedTimestamp: seconds(endpoint.createdMs),
        LastUpdatedTimestamp: seconds(endpoint.updatedMs),
      },
    };
  },
  ListAppInstanceUserEndpoints: (store, input) => {
    const { user } = store.requireUser(input.AppInstanceUserArn);
    const endpoints = user.endpoints ?? new Map<string, EndpointRecord>();
    const ids = [...endpoints.keys()].sort();
    const { maxResults, nextToken } = pageRequest(input);
    const page = pageOf(ids, `ListAppInstanceUserEndpoints ${user.arn}`, maxResults, nextToken, (id) => {
      const endpoint = endpoints.get(id);
      return endpoint && summary(user.arn, endpoint);
    });
    return { AppInstanceUserEndpoints: page.items, NextToken: page.nextToken };
  },
  UpdateAppInstanceUserEndpoint: (store, input) => {
    const { user, endpoint } = requireEndpoint(store, input);
    if (input.Name !== undefined) endpoint.name = input.Name;
    if (input.AllowMessages !== undefined) endpoint.allowMessages = input.AllowMessages;
    endpoint.updatedMs = store.now();
    return { AppInstanceUserArn: user.arn, EndpointId: endpoint.endpointId };
  },
  DeregisterAppInstanceUserEndpoint: (store, input) => {
    const { user, endpoint } = requireEndpoint(store, input);
    user.endpoints?.delete(endpoint.endpointId);
    return undefined;
  },
};
