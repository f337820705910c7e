/**
 * The in-memory records of the emulated resources, the resource limits, and the tag helpers every taggable
 * resource shares. Plain data: the store (store.ts) indexes them, the operations (operations/) change them.
 */
import type {
  AllowMessages,
  AppInstanceRetentionSettings,
  AppInstanceUserEndpointType,
  Configuration,
  EndpointAttributes,
} from '@aws-sdk/client-chime-sdk-identity';
import type { Validated } from './operations/types';

export interface Tag {
  Key: string;
  Value: string;
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
export const NO_TAGS: Tag[] = [];

/** A class (one hidden class, lean fields) because 100k of these must fit well under 200 MB of RSS. */
export class UserRecord {
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

export interface BotRecord {
  readonly arn: string;
  readonly botId: string;
  name: string | undefined;
  metadata: string | undefined;
  configuration: Validated<Configuration>;
  readonly createdMs: number;
  updatedMs: number;
  tags: Tag[];
}

export interface EndpointRecord {
  readonly endpointId: string;
  name: string | undefined;
  readonly type: AppInstanceUserEndpointType;
  readonly resourceArn: string;
  readonly attributes: Validated<EndpointAttributes>;
  allowMessages: AllowMessages;
  readonly createdMs: number;
  updatedMs: number;
}

export interface RetentionRecord {
  settings: Validated<AppInstanceRetentionSettings>;
  initiatedMs: number;
}

export interface AppInstanceRecord {
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
  retention: RetentionRecord | undefined;
}

/** JSON with sorted object keys, so two equal inputs always give the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sameTags(a: readonly Tag[], b: readonly Tag[]): boolean {
  const key = (tags: readonly Tag[]) => canonicalJson([...tags].sort((x, y) => (x.Key < y.Key ? -1 : 1)));
  return key(a) === key(b);
}

export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) byKey.set(tag.Key, tag.Value);
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}
