import { z } from 'zod';
import { fieldError, strictObject } from './fields';

/**
 * `access`: how chime-lifecycle reaches a tenant's AppInstance when it lives in another AWS account, an IAM
 * role of that account to assume (STS AssumeRole) with the external id its trust policy requires. Without it
 * the tenant's Chime calls use the deployment's own credentials.
 */

/**
 * An IAM role ARN as IAM defines it: partition, no region, a 12-digit account, `role/`, an optional path
 * (`/` … `/`, printable ASCII) and a name of 1..64 of `[\w+=,.@-]` (IAM User Guide, "IAM identifiers" and
 * "IAM and AWS STS quotas"; AssumeRole takes RoleArn of 20..2048 characters).
 */
const ROLE_ARN_PATTERN =
  /^arn:(aws[a-z-]*):iam::([0-9]{12}):role\/((?:[\x21-\x2E\x30-\x7E]+\/)*)([\w+=,.@-]{1,64})$/;
const ROLE_ARN_MIN_LENGTH = 20;
const ROLE_ARN_MAX_LENGTH = 2048;

/** AssumeRole's ExternalId: 2..1224 characters of `[\w+=,.@:/-]` (STS API reference). */
const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;

export interface RoleArnParts {
  readonly partition: string;
  readonly accountId: string;
  readonly roleName: string;
}

/** Splits an IAM role ARN, or returns null when `arn` is not one. */
export function parseRoleArn(arn: string): RoleArnParts | null {
  if (arn.length < ROLE_ARN_MIN_LENGTH || arn.length > ROLE_ARN_MAX_LENGTH) return null;
  const match = ROLE_ARN_PATTERN.exec(arn);
  if (!match) return null;
  const [, partition, accountId, , roleName] = match;
  if (partition === undefined || accountId === undefined || roleName === undefined) return null;
  return { partition, accountId, roleName };
}

const ROLE_ARN_MESSAGE =
  'must be an IAM role ARN: arn:aws:iam::<12-digit account>:role/<optional path/><name of 1..64 letters, digits and +=,.@_->';
const EXTERNAL_ID_MESSAGE =
  'must be 2..1224 characters of letters, digits and + = , . @ : / _ - (the external id the role trust policy requires)';

export const accessSchema = strictObject(
  {
    roleArn: z.string({ error: fieldError(ROLE_ARN_MESSAGE) }).check((ctx) => {
      if (parseRoleArn(ctx.value) === null) {
        ctx.issues.push({ code: 'custom', message: ROLE_ARN_MESSAGE, input: ctx.value });
      }
    }),
    externalId: z
      .string({ error: fieldError(EXTERNAL_ID_MESSAGE) })
      .regex(EXTERNAL_ID_PATTERN, { error: EXTERNAL_ID_MESSAGE }),
  },
  'an object with roleArn and externalId',
);

/** How a tenant's Chime calls are made: through this role of the AppInstance's account. */
export type TenantAccess = z.output<typeof accessSchema>;
