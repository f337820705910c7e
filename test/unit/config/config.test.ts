import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig } from '../../../shared/config';

describe('loadConfig', () => {
  it('uses the documented defaults with an empty environment', () => {
    expect(loadConfig({})).toEqual(DEFAULTS);
  });

  it('reads every variable and lets overrides win', () => {
    const config = loadConfig(
      {
        AWS_REGION: 'eu-central-1',
        CHIME_LIFECYCLE_POLICY_TABLE: 'p',
        CHIME_LIFECYCLE_STATE_TABLE: 's',
        CHIME_LIFECYCLE_QUOTA_SCALE: '2.5',
        CHIME_LIFECYCLE_ACCOUNT_QUOTA_SHARE: '0.5',
        CHIME_LIFECYCLE_VERIFY_INTERVAL_DAYS: '7',
        CHIME_LIFECYCLE_SYNC_MAX_PAGES_PER_INVOCATION: '3',
      },
      { stateTable: 'override' },
    );
    expect(config).toMatchObject({
      region: 'eu-central-1',
      policyTable: 'p',
      stateTable: 'override',
      quotaScale: 2.5,
      accountQuotaShare: 0.5,
      verifyIntervalDays: 7,
      syncMaxPagesPerInvocation: 3,
    });
  });

  it('reads the quota coordination settings', () => {
    expect(
      loadConfig({
        CHIME_LIFECYCLE_QUOTA_COORDINATION: 'off',
        CHIME_LIFECYCLE_QUOTA_FALLBACK_SHARE: '0.15',
        CHIME_LIFECYCLE_QUOTA_LEASE_SECONDS: '9',
      }),
    ).toMatchObject({ quotaCoordination: false, quotaFallbackShare: 0.15, quotaLeaseSeconds: 9 });
    expect(loadConfig({ CHIME_LIFECYCLE_QUOTA_COORDINATION: 'ON' }).quotaCoordination).toBe(true);
  });

  it.each([
    ['CHIME_LIFECYCLE_QUOTA_SCALE', '0'],
    ['CHIME_LIFECYCLE_QUOTA_SCALE', 'fast'],
    ['CHIME_LIFECYCLE_ACCOUNT_QUOTA_SHARE', '1.5'],
    ['CHIME_LIFECYCLE_QUOTA_COORDINATION', 'maybe'],
    ['CHIME_LIFECYCLE_QUOTA_FALLBACK_SHARE', '0'],
    ['CHIME_LIFECYCLE_QUOTA_LEASE_SECONDS', '0.5'],
    ['CHIME_LIFECYCLE_SYNC_MAX_PAGES_PER_INVOCATION', '2.5'],
    ['CHIME_LIFECYCLE_SYNC_SAFETY_MARGIN_SECONDS', '-1'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: must be`));
  });
});
