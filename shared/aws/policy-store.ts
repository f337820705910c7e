import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { StoredPolicy } from '../contracts/stored-policy';
import { TerminalError } from '../errors';
import { type Policy, parsePolicy } from '../policy';
import { parseStrictJson } from '../policy/strict-json';

export interface PutOptions {
  /** The document's text as the operator wrote it; defaults to the document as indented JSON. */
  readonly source?: string;
  /** Allow a put that changes the tenant's appInstanceArn (the old AppInstance is released). */
  readonly moveAppInstance?: boolean;
}

/** The version a writer read; `null` when it expects the tenant to have no policy yet. */
export type ExpectedVersion = { readonly version: number; readonly appInstanceArn: string } | null;

export class PolicyChangedError extends Error {
  override name = 'PolicyChangedError';
  constructor(readonly tenantId: string) {
    super(
      `the policy of tenant "${tenantId}" changed since you read it; read it again and reapply your change`,
    );
  }
}

export class AppInstanceClaimedError extends Error {
  override name = 'AppInstanceClaimedError';
  constructor(
    readonly tenantId: string,
    readonly appInstanceArn: string,
  ) {
    super(
      `AppInstance ${appInstanceArn} already belongs to another tenant; a tenant can only manage its own`,
    );
  }
}

/** A put would move a tenant to another AppInstance without saying so (`--move-app-instance`). */
export class AppInstanceMoveError extends Error {
  override name = 'AppInstanceMoveError';
  constructor(
    readonly tenantId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(
      `this put moves tenant ${tenantId} from AppInstance ${from} to ${to}, which releases ${from} for any other tenant to claim; add --move-app-instance if that is what you mean`,
    );
  }
}

/**
 * A policy that cannot be read (not JSON, or not a valid document): repeating the work never repairs it, so
 * it is terminal, and a queue driver dead-letters the message at once with this reason.
 */
export class StoredPolicyInvalidError extends TerminalError<'stored-policy-invalid'> {
  override name = 'StoredPolicyInvalidError';
  constructor(detail: string) {
    super('stored-policy-invalid', detail);
  }
}

export interface PolicyTables {
  readonly policyTable: string;
  readonly stateTable: string;
}

const historyKey = (tenantId: string) => `POLICY#${tenantId}`;
const versionKey = (version: number) => `V#${String(version).padStart(10, '0')}`;
const claimKey = (appInstanceArn: string) => `APPINSTANCE#${appInstanceArn}`;

/**
 * The policy table: one current item per tenant (the table the stream watches), every version kept in the
 * state table for `policy history`, and a claim item per AppInstance so that two tenants can never manage
 * the same AppInstance. All three are written in one transaction, conditional on the version the writer
 * read, so concurrent writers never lose an update.
 */
export class PolicyStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tables: PolicyTables,
  ) {}

  async get(tenantId: string): Promise<StoredPolicy | null> {
    const { Item } = await this.dynamo.send(
      new GetCommand({ TableName: this.tables.policyTable, Key: { tenantId }, ConsistentRead: true }),
    );
    return Item ? toStoredPolicy(Item) : null;
  }

  /** Every tenant's current policy, in tenant id order. */
  /** The tenant whose policy claimed an AppInstance (see the claim items), or null when none did. */
  async tenantOfAppInstance(appInstanceArn: string): Promise<string | null> {
    const result = await this.dynamo.send(
      new GetCommand({
        TableName: this.tables.stateTable,
        Key: { pk: claimKey(appInstanceArn), sk: 'CLAIM' },
      }),
    );
    return typeof result.Item?.tenantId === 'string' ? result.Item.tenantId : null;
  }

  async list(): Promise<StoredPolicy[]> {
    const policies: StoredPolicy[] = [];
    for await (const page of paginateScan(
      { client: this.dynamo },
      { TableName: this.tables.policyTable, ConsistentRead: true },
    )) {
      for (const item of page.Items ?? []) policies.push(toStoredPolicy(item));
    }
    return policies.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  }

  /** Every stored version of a tenant's policy, newest first. */
  async history(tenantId: string): Promise<StoredPolicy[]> {
    const versions: StoredPolicy[] = [];
    for await (const page of paginateQuery(
      { client: this.dynamo },
      {
        TableName: this.tables.stateTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': historyKey(tenantId), ':v': 'V#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) versions.push(toStoredPolicy(item));
    }
    return versions;
  }

  /**
   * Writes a new version of a validated policy document, conditional on `expected`.
   * @throws PolicyChangedError when another writer got there first
   * @throws AppInstanceClaimedError when another tenant already manages the AppInstance
   */
  async put(
    policy: Policy,
    document: Record<string, unknown>,
    expected: ExpectedVersion,
    options: PutOptions = {},
  ): Promise<StoredPolicy> {
    const { tenantId, appInstanceArn } = policy;
    const movedFrom =
      expected && expected.appInstanceArn !== appInstanceArn ? expected.appInstanceArn : undefined;
    if (movedFrom !== undefined && !options.moveAppInstance) {
      throw new AppInstanceMoveError(tenantId, movedFrom, appInstanceArn);
    }
    const version = (expected?.version ?? 0) + 1;
    const updatedAt = new Date().toISOString();
    const source = options.source ?? `${JSON.stringify(document, null, 2)}\n`;
    // The document is stored as its text, not as a DynamoDB map: metadata keys are user data, and the
    // marshaller mishandles keys such as `__proto__` and `constructor`; the text also keeps key order.
    const item = {
      tenantId,
      version,
      updatedAt,
      enabled: policy.enabled,
      appInstanceArn,
      documentJson: source,
      ...(movedFrom === undefined ? {} : { movedFrom }),
    };
    const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
      {
        Put: {
          TableName: this.tables.policyTable,
          Item: item,
          ConditionExpression: expected ? '#version = :expected' : 'attribute_not_exists(tenantId)',
          ...(expected
            ? {
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': expected.version },
              }
            : {}),
        },
      },
      {
        Put: {
          TableName: this.tables.stateTable,
          Item: { pk: historyKey(tenantId), sk: versionKey(version), ...item },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.tables.stateTable,
          Item: { pk: claimKey(appInstanceArn), sk: 'CLAIM', tenantId },
          ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :tenantId',
          ExpressionAttributeValues: { ':tenantId': tenantId },
        },
      },
    ];
    if (movedFrom !== undefined) {
      items.push({
        Delete: {
          TableName: this.tables.stateTable,
          Key: { pk: claimKey(movedFrom), sk: 'CLAIM' },
          ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :tenantId',
          ExpressionAttributeValues: { ':tenantId': tenantId },
        },
      });
    }
    try {
      await this.dynamo.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed' || reasons[1]?.Code === 'ConditionalCheckFailed') {
          throw new PolicyChangedError(tenantId);
        }
        if (reasons[2]?.Code === 'ConditionalCheckFailed')
          throw new AppInstanceClaimedError(tenantId, appInstanceArn);
        // TransactionConflict: another transaction touched the same items at the same moment; the caller
        // must re-read either way, and "changed since you read it" is what happened.
        if (reasons.some((reason) => reason.Code === 'TransactionConflict'))
          throw new PolicyChangedError(tenantId);
      }
      throw error;
    }
    return {
      tenantId,
      version,
      updatedAt,
      document,
      policy,
      source,
      ...(movedFrom === undefined ? {} : { movedFrom }),
    };
  }
}

/** Same document, whatever its layout or key order: an identical put is a no-op. */
export function sameDocument(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Validates a policy document and stores it as the next version of its tenant, conditional on the version
 * read just before (so a concurrent writer still gets "changed since you read it"). A change of the tenant's
 * AppInstance is refused unless `options.moveAppInstance` is set.
 */
export async function storePolicyDocument(
  store: PolicyStore,
  document: Record<string, unknown>,
  options: PutOptions = {},
): Promise<StoredPolicy> {
  const parsed = parsePolicy(document);
  if (!parsed.ok) {
    const detail = parsed.problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
    throw new StoredPolicyInvalidError(`not a valid policy: ${detail}`);
  }
  const current = await store.get(parsed.policy.tenantId);
  return store.put(
    parsed.policy,
    document,
    current ? { version: current.version, appInstanceArn: current.policy.appInstanceArn } : null,
    options,
  );
}

function toStoredPolicy(item: Record<string, unknown>): StoredPolicy {
  const tenantId = String(item.tenantId);
  let document: Record<string, unknown>;
  let source: string;
  if (typeof item.documentJson === 'string') {
    const read = parseStrictJson(item.documentJson);
    if (!read.ok) {
      throw new StoredPolicyInvalidError(
        `the stored policy of tenant "${tenantId}" is not valid JSON: ${read.problem.path}: ${read.problem.message}`,
      );
    }
    document = read.value as Record<string, unknown>;
    source = item.documentJson;
  } else {
    // Versions written before documents were stored as text hold a DynamoDB map.
    document = (item.document ?? {}) as Record<string, unknown>;
    source = `${JSON.stringify(document, null, 2)}\n`;
  }
  const parsed = parsePolicy(document);
  if (!parsed.ok) {
    const detail = parsed.problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
    throw new StoredPolicyInvalidError(`the stored policy of tenant "${tenantId}" is not valid: ${detail}`);
  }
  return {
    tenantId,
    version: Number(item.version),
    updatedAt: String(item.updatedAt),
    document,
    policy: parsed.policy,
    source,
    ...(typeof item.movedFrom === 'string' ? { movedFrom: item.movedFrom } : {}),
  };
}
