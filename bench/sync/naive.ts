/** The baseline: the same steady-state work done the naive way, with a plain SDK client and its retries. */
import { performance } from 'node:perf_hooks';
import {
  ChimeSDKIdentityClient,
  DescribeAppInstanceUserCommand,
  ExpirationCriterion,
  ListAppInstanceUsersCommand,
  PutAppInstanceUserExpirationSettingsCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import pLimit from 'p-limit';
import type { Config } from '../../shared/config';
import { compilePolicy, decide, parsePolicy, resolveExpiration } from '../../shared/policy';
import { policyDocument } from '../sync-stack';
import { sum, type Tenant } from './emulator-calls';
import { NAIVE_CONCURRENCY, NAIVE_MAX_ROUNDS } from './settings';

export interface NaiveResult {
  readonly seconds: number;
  /** Users whose Describe or Put still failed after the SDK's retries in the first pass. */
  readonly failedFirstRound: number;
  readonly rounds: number;
  /** Users never reconciled (failed in every round); 0 unless NAIVE_MAX_ROUNDS ran out. */
  readonly unfinished: number;
}

/**
 * What a script without this project would do: list every user, then Describe each and Put the policy's
 * expiration (the value it should have, even when it already has it) with a plain SDK client and its
 * default retries (standard mode, 3 attempts, retry quota), 16 users in flight per tenant. Users whose
 * calls still fail are run again, as an operator would re-run the script, until none fail, so the wall
 * time is that of doing all the work. Unmanaged users are described but never written.
 */
async function naiveTenantPass(url: string, config: Config, tenantId: string, arn: string) {
  const client = new ChimeSDKIdentityClient({
    endpoint: url,
    region: config.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    const parsed = parsePolicy(policyDocument(tenantId, arn));
    if (!parsed.ok) throw new Error('bench policy is invalid');
    const policy = compilePolicy(parsed.policy);
    const users: { arn: string; appInstanceUserId: string; metadata: string }[] = [];
    let nextToken: string | undefined;
    do {
      try {
        const page = await client.send(
          new ListAppInstanceUsersCommand({ AppInstanceArn: arn, MaxResults: 50, NextToken: nextToken }),
        );
        for (const user of page.AppInstanceUsers ?? []) {
          const userArn = user.AppInstanceUserArn ?? '';
          users.push({
            arn: userArn,
            appInstanceUserId: userArn.slice(userArn.lastIndexOf('/') + 1),
            metadata: user.Metadata ?? '',
          });
        }
        nextToken = page.NextToken || undefined;
      } catch {
        // Retries exhausted on this page: ask for the same page again.
      }
    } while (nextToken !== undefined);

    const limit = pLimit(NAIVE_CONCURRENCY);
    const reconcile = async (user: (typeof users)[number]) => {
      const described = await client.send(
        new DescribeAppInstanceUserCommand({ AppInstanceUserArn: user.arn }),
      );
      const resolved = resolveExpiration(policy, user);
      if (resolved.expiration === 'unmanaged') return;
      const current = {
        createdAt: described.AppInstanceUser?.CreatedTimestamp?.getTime() ?? 0,
        expirationDays: described.AppInstanceUser?.ExpirationSettings?.ExpirationDays,
      };
      const decision = decide(policy, user, current, Date.now());
      const days =
        decision.desired.kind === 'set'
          ? decision.desired.days
          : decision.desired.kind === 'remove'
            ? undefined
            : current.expirationDays;
      await client.send(
        new PutAppInstanceUserExpirationSettingsCommand({
          AppInstanceUserArn: user.arn,
          ...(days === undefined
            ? {}
            : {
                ExpirationSettings: {
                  ExpirationDays: days,
                  ExpirationCriterion: ExpirationCriterion.CREATED_TIMESTAMP,
                },
              }),
        }),
      );
    };
    let todo = users;
    let rounds = 0;
    let failedFirstRound = 0;
    while (todo.length > 0 && rounds < NAIVE_MAX_ROUNDS) {
      rounds++;
      const failed: typeof users = [];
      await Promise.all(todo.map((user) => limit(() => reconcile(user).catch(() => void failed.push(user)))));
      if (rounds === 1) failedFirstRound = failed.length;
      todo = failed;
    }
    return { failedFirstRound, rounds, unfinished: todo.length };
  } finally {
    client.destroy();
  }
}

export async function naivePass(
  url: string,
  config: Config,
  tenants: readonly Tenant[],
): Promise<NaiveResult> {
  const started = performance.now();
  const results = await Promise.all(
    tenants.map((tenant) => naiveTenantPass(url, config, tenant.id, tenant.arn)),
  );
  return {
    seconds: (performance.now() - started) / 1000,
    failedFirstRound: sum(results.map((result) => result.failedFirstRound)),
    rounds: Math.max(...results.map((result) => result.rounds)),
    unfinished: sum(results.map((result) => result.unfinished)),
  };
}
