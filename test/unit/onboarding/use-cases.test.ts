import { describe, expect, it, vi } from 'vitest';
import type {
  ExistingUser as ChimeUser,
  NewUser as CreateChimeUser,
} from '../../../shared/contracts/chime-user';
import type { LedgerEntry } from '../../../shared/contracts/ledger';
import type { LifecycleEvent } from '../../../shared/contracts/lifecycle-events';
import { ChimeCallError } from '../../../shared/errors';
import { onboardRequestSchema } from '../../../shared/onboarding/message';
import {
  type OnboardingDeps,
  type OnboardOutcome,
  onboardRequest,
  type TenantPolicy,
} from '../../../shared/onboarding/onboard-request';
import {
  describeInvalidOnboarding,
  processOnboardingRequest,
  rejectedEvent,
} from '../../../shared/onboarding/process-message';
import { OnboardingRejection } from '../../../shared/onboarding/retry';
import { compilePolicy, DAY_MS, parsePolicy } from '../../../shared/policy';
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

function fakes(
  options: {
    policy?: TenantPolicy | null;
    existing?: ChimeUser;
    createError?: unknown;
    admins?: readonly string[];
  } = {},
) {
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
      listAdmins: async () => new Set(options.admins ?? []),
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

describe('processOnboardingRequest', () => {
  const outcome = { result: 'created' } as OnboardOutcome;
  const request = { tenantId: 'acme', appInstanceUserId: 'u-1', name: 'Secret Person' };

  it('onboards a valid request under its key and logs replays without the name', async () => {
    const logs: unknown[] = [];
    const log = (...args: unknown[]) => void logs.push(args);
    const onboardOnce = vi.fn(async (_request: unknown, _key: string) => ({ outcome, replayed: true }));
    const result = await processOnboardingRequest(request, 'm', {
      onboardOnce,
      log: { info: log, warn: log, error: log },
    });
    expect(result).toEqual({ outcome, replayed: true });
    expect(onboardOnce.mock.calls[0]?.[1]).toMatch(/^[-_A-Za-z0-9]{43}$/);
    expect(logs).toHaveLength(1);
    expect(JSON.stringify(logs)).not.toContain('Secret');
  });

  it('describes an invalid body by field from the issues of its one parse, and its rejection event carries identifiers only', () => {
    const body = { ...request, x: 1 };
    const parsed = onboardRequestSchema.safeParse(body);
    if (parsed.success) throw new Error('the body should be invalid');
    const failure = describeInvalidOnboarding(body, parsed.error.issues);
    expect({ reason: failure.reason, detail: failure.detail }).toEqual({
      reason: 'invalid-message',
      detail: '(root): unknown key(s) at position(s) 4 (keys are not echoed: they may hold personal data)',
    });
    const event = rejectedEvent(failure, 'm', undefined);
    expect(event.detail).toMatchObject({ tenantId: 'acme', appInstanceUserId: 'u-1', messageId: 'm' });
    expect(JSON.stringify(event)).not.toContain('Secret');
  });

  it('names an AppInstance in the body as its own reason, and a rejected valid request by its identifiers', () => {
    const body = { ...request, appInstanceArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/x' };
    const parsed = onboardRequestSchema.safeParse(body);
    if (parsed.success) throw new Error('the body should be invalid');
    expect(describeInvalidOnboarding(body, parsed.error.issues).reason).toBe('app-instance-not-allowed');
    const event = rejectedEvent(new OnboardingRejection('tenant-not-found', 'tenantId: no policy'), 'm', {
      ...request,
      requestId: 'r-1',
    });
    expect(event.detail).toEqual({
      reason: 'tenant-not-found',
      detail: 'tenantId: no policy',
      messageId: 'm',
      tenantId: 'acme',
      appInstanceUserId: 'u-1',
      requestId: 'r-1',
    });
  });
});
