import { describe, expect, it, vi } from 'vitest';
import { ChimeCallError } from '../../../shared/errors';
import {
  type OnboardingDeps,
  type OnboardOutcome,
  onboardRequest,
  type TenantPolicy,
} from '../../../shared/onboarding/onboard-request';
import type { ExistingUser as ChimeUser, NewUser as CreateChimeUser } from '../../../shared/onboarding/ports';
import {
  type MessageDeps,
  processOnboardingMessage,
  RetryLaterError,
} from '../../../shared/onboarding/process-message';
import { OnboardingRejection } from '../../../shared/onboarding/retry';
import { compilePolicy, DAY_MS, parsePolicy } from '../../../shared/policy';
import type { LifecycleEvent } from '../../../shared/sync/events';
import type { LedgerEntry } from '../../../shared/sync/ports';
import { appInstanceArn, policyDocument } from '../../fixtures/policies';

const NOW = Date.UTC(2025, 0, 10);
const APP = appInstanceArn('acme');

function tenant(overrides: Record<string, unknown> = {}): TenantPolicy {
  const parsed = parsePolicy(policyDocument('acme', APP, overrides));
  if (!parsed.ok) throw new Error('fixture policy invalid');
  return {
    tenantId: 'acme',
    version: 3,
    enabled: parsed.policy.enabled,
    appInstanceArn: APP,
    compiled: compilePolicy(parsed.policy),
  };
}

function fakes(options: { policy?: TenantPolicy | null; existing?: ChimeUser; createError?: unknown } = {}) {
  const created: CreateChimeUser[] = [];
  const updates: { arn: string; name: string; metadata: string }[] = [];
  const expirations: { arn: string; days: number | null }[] = [];
  const ledger: LedgerEntry[] = [];
  const events: LifecycleEvent[] = [];
  const deps: OnboardingDeps = {
    policies: { get: async () => (options.policy === undefined ? tenant() : options.policy) },
    users: {
      userArn: (app, id) => `${app}/user/${id}`,
      create: async (user) => {
        if (options.createError) throw options.createError;
        created.push(user);
        return `${user.appInstanceArn}/user/${user.appInstanceUserId}`;
      },
      describe: async () => options.existing ?? null,
      update: async (arn, attributes) => {
        updates.push({ arn, ...attributes });
      },
      putExpiration: async (arn, days) => {
        expirations.push({ arn, days });
      },
    },
    ledger: { putMany: async (_tenant, entries) => void ledger.push(...entries) },
    events: { publish: async (batch) => void events.push(...batch) },
    now: () => NOW,
  };
  return { deps, created, updates, expirations, ledger, events };
}

// What the Chime port throws (shared/chime/user-port.ts translates the SDK's exceptions).
const conflict = () => new ChimeCallError('CreateAppInstanceUser', 'conflict', 'ConflictException', 409);

describe('onboardRequest', () => {
  it('creates with the decided expiration and the token, records the ledger and the event', async () => {
    const { deps, created, ledger, events } = fakes();
    const outcome = await onboardRequest(
      { tenantId: 'acme', appInstanceUserId: 'guest-1', name: 'G', tags: [{ Key: 'k', Value: 'v' }] },
      'token-1',
      deps,
    );
    expect(created).toEqual([
      {
        appInstanceArn: APP,
        appInstanceUserId: 'guest-1',
        name: 'G',
        clientRequestToken: 'token-1',
        tags: { k: 'v' },
        expirationDays: 7,
      },
    ]);
    expect(outcome).toMatchObject({
      result: 'created',
      ruleId: 'guests',
      expirationDays: 7,
      policyVersion: 3,
    });
    expect(ledger).toEqual([
      {
        appInstanceUserId: 'guest-1',
        createdAt: NOW,
        expirationDays: 7,
        verifiedAt: NOW,
        appliedPolicyVersion: 3,
        appliedRuleId: 'guests',
      },
    ]);
    expect(events.map((event) => event.type)).toEqual(['User Onboarded']);
    expect(JSON.stringify(events)).not.toContain('"G"');
  });

  it('sends no ExpirationSettings for "never" and "unmanaged" users', async () => {
    const { deps, created } = fakes();
    await onboardRequest({ tenantId: 'acme', appInstanceUserId: 'emp-1', name: 'E' }, 't', deps);
    await onboardRequest({ tenantId: 'acme', appInstanceUserId: 'svc-1', name: 'S' }, 't2', deps);
    expect(created.map((user) => user.expirationDays)).toEqual([undefined, undefined]);
  });

  it('applies the floor when a rule asks for less than the minimum remaining days', async () => {
    const { deps, created } = fakes({
      policy: tenant({
        rules: [{ id: 'short', priority: 1, match: { userIdPrefix: 's-' }, expiration: { days: 1 } }],
        safety: { minRemainingDays: 3, maxShorteningChanges: 100, maxShorteningPercent: 10 },
      }),
    });
    await onboardRequest({ tenantId: 'acme', appInstanceUserId: 's-1', name: 'S' }, 't', deps);
    expect(created[0]?.expirationDays).toBe(3);
  });

  it('rejects unknown and disabled tenants', async () => {
    const request = { tenantId: 'acme', appInstanceUserId: 'u', name: 'n' };
    await expect(onboardRequest(request, 't', fakes({ policy: null }).deps)).rejects.toMatchObject({
      reason: 'tenant-not-found',
    });
    await expect(
      onboardRequest(request, 't', fakes({ policy: tenant({ enabled: false }) }).deps),
    ).rejects.toMatchObject({
      reason: 'tenant-disabled',
    });
  });

  it('turns a Chime 400 into a rejection and lets a throttle through to be retried', async () => {
    const request = { tenantId: 'acme', appInstanceUserId: 'u', name: 'n' };
    const bad = new ChimeCallError('CreateAppInstanceUser', 'bad-request', 'BadRequestException', 400);
    await expect(onboardRequest(request, 't', fakes({ createError: bad }).deps)).rejects.toBeInstanceOf(
      OnboardingRejection,
    );
    const throttled = new ChimeCallError(
      'CreateAppInstanceUser',
      'throttled',
      'ThrottledClientException',
      429,
    );
    await expect(onboardRequest(request, 't', fakes({ createError: throttled }).deps)).rejects.toBe(
      throttled,
    );
  });

  it('on conflict converges name, keeps metadata the request left out, and applies the policy from the real creation time', async () => {
    const createdAt = NOW - 2 * DAY_MS;
    const existing: ChimeUser = {
      arn: `${APP}/user/guest-9`,
      appInstanceUserId: 'guest-9',
      name: 'Old',
      metadata: '{"keep":"me"}',
      createdAt,
      expirationDays: undefined,
    };
    const { deps, updates, expirations, ledger } = fakes({ createError: conflict(), existing });
    const outcome = await onboardRequest(
      { tenantId: 'acme', appInstanceUserId: 'guest-9', name: 'New' },
      't',
      deps,
    );
    expect(updates).toEqual([{ arn: existing.arn, name: 'New', metadata: '{"keep":"me"}' }]);
    expect(expirations).toEqual([{ arn: existing.arn, days: 7 }]);
    expect(outcome).toMatchObject({
      result: 'converged',
      changed: ['name', 'expiration'],
      expirationDays: 7,
    });
    expect(ledger[0]).toMatchObject({ createdAt, verifiedAt: NOW, expirationDays: 7 });
  });

  it('on conflict with a user already as requested, writes nothing to Chime', async () => {
    const existing: ChimeUser = {
      arn: `${APP}/user/emp-7`,
      appInstanceUserId: 'emp-7',
      name: 'E',
      metadata: '',
      createdAt: NOW - DAY_MS,
      expirationDays: undefined,
    };
    const { deps, updates, expirations } = fakes({ createError: conflict(), existing });
    const outcome = await onboardRequest(
      { tenantId: 'acme', appInstanceUserId: 'emp-7', name: 'E' },
      't',
      deps,
    );
    expect(updates).toEqual([]);
    expect(expirations).toEqual([]);
    expect(outcome).toMatchObject({ result: 'converged', changed: [] });
  });

  it('retries when the conflicting user vanished before it could be described', async () => {
    const { deps } = fakes({ createError: conflict() });
    await expect(
      onboardRequest({ tenantId: 'acme', appInstanceUserId: 'u', name: 'n' }, 't', deps),
    ).rejects.toMatchObject({ name: 'UserVanishedError' });
  });
});

describe('processOnboardingMessage', () => {
  const outcome = { result: 'created' } as OnboardOutcome;
  const body = JSON.stringify({ tenantId: 'acme', appInstanceUserId: 'u-1', name: 'Secret Person' });

  function messageDeps(onboardOnce: MessageDeps['onboardOnce']) {
    const calls = {
      deadLetter: vi.fn(async () => {}),
      retryLater: vi.fn(async () => {}),
      publish: vi.fn(async () => {}),
      logs: [] as unknown[],
    };
    const log = (...args: unknown[]) => void calls.logs.push(args);
    const deps: MessageDeps = {
      onboardOnce,
      deadLetter: calls.deadLetter,
      retryLater: calls.retryLater,
      events: { publish: calls.publish },
      log: { info: log, warn: log, error: log },
      backoff: { baseSeconds: 2, capSeconds: 300 },
      random: () => 0,
    };
    return { deps, calls };
  }

  it('onboards a valid message under its key and reports replays', async () => {
    const onboardOnce = vi.fn(async (_request: unknown, _key: string) => ({ outcome, replayed: true }));
    const { deps, calls } = messageDeps(onboardOnce);
    const result = await processOnboardingMessage({ messageId: 'm', body, receiveCount: 1 }, deps);
    expect(result).toEqual({ status: 'onboarded', outcome, replayed: true });
    expect(onboardOnce.mock.calls[0]?.[1]).toMatch(/^[-_A-Za-z0-9]{43}$/);
    expect(calls.deadLetter).not.toHaveBeenCalled();
  });

  it('dead-letters an invalid message at once and publishes the rejection without the name', async () => {
    const onboardOnce = vi.fn();
    const { deps, calls } = messageDeps(onboardOnce);
    const bad = JSON.stringify({ tenantId: 'acme', appInstanceUserId: 'u-1', name: 'Secret Person', x: 1 });
    const result = await processOnboardingMessage({ messageId: 'm', body: bad, receiveCount: 1 }, deps);
    expect(result).toMatchObject({ status: 'rejected', reason: 'invalid-message' });
    expect(onboardOnce).not.toHaveBeenCalled();
    expect(calls.deadLetter).toHaveBeenCalledWith('invalid-message', '(root): unknown key(s) "x"');
    expect(calls.publish).toHaveBeenCalledTimes(1);
    expect(JSON.stringify([calls.publish.mock.calls, calls.logs])).not.toContain('Secret');
  });

  it('dead-letters a rejection from the use case and still succeeds when the event cannot be published', async () => {
    const { deps, calls } = messageDeps(async () => {
      throw new OnboardingRejection('tenant-disabled', 'tenantId: disabled');
    });
    calls.publish.mockRejectedValueOnce(new Error('EventBridge down'));
    const result = await processOnboardingMessage({ messageId: 'm', body, receiveCount: 1 }, deps);
    expect(result).toMatchObject({ status: 'rejected', reason: 'tenant-disabled' });
    expect(calls.deadLetter).toHaveBeenCalledOnce();
  });

  it('fails the message when even the DLQ copy fails, so nothing is lost', async () => {
    const { deps, calls } = messageDeps(vi.fn());
    calls.deadLetter.mockRejectedValueOnce(new Error('SQS down'));
    await expect(
      processOnboardingMessage({ messageId: 'm', body: '{', receiveCount: 1 }, deps),
    ).rejects.toThrow('SQS down');
  });

  it('sets a backoff visibility on retryable failures and fails only this record', async () => {
    const throttled = new ChimeCallError(
      'CreateAppInstanceUser',
      'throttled',
      'ThrottledClientException',
      429,
    );
    const { deps, calls } = messageDeps(async () => {
      throw throttled;
    });
    const failure = processOnboardingMessage({ messageId: 'm', body, receiveCount: 4 }, deps);
    await expect(failure).rejects.toBeInstanceOf(RetryLaterError);
    await expect(failure).rejects.toMatchObject({ delaySeconds: 8, cause: throttled });
    expect(calls.retryLater).toHaveBeenCalledWith(8);
    expect(calls.deadLetter).not.toHaveBeenCalled();
  });

  it('still fails the record when the visibility change fails (it returns after the queue timeout)', async () => {
    const { deps, calls } = messageDeps(async () => {
      throw new Error('DynamoDB unavailable');
    });
    calls.retryLater.mockRejectedValueOnce(new Error('SQS down'));
    await expect(
      processOnboardingMessage({ messageId: 'm', body, receiveCount: 1 }, deps),
    ).rejects.toBeInstanceOf(RetryLaterError);
  });
});
