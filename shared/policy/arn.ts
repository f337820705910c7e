/** App-instance ARNs, as the Chime API model defines them. */

/** The Chime API model's ChimeArn shape: length 5..1600 and this pattern, matched against the whole string. */
const CHIME_ARN_PATTERN =
  /^arn:[a-z0-9-.]{1,63}:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[^/].{0,1023}$/;
const CHIME_ARN_MIN_LENGTH = 5;
const CHIME_ARN_MAX_LENGTH = 1600;

/**
 * An app-instance ARN and nothing more: a user ARN (`.../app-instance/<id>/user/<userId>`) is rejected because
 * a policy governs a whole app instance. Regions look like `us-east-1`, `us-gov-west-1` or `eusc-de-east-1`.
 */
const APP_INSTANCE_ARN_PATTERN =
  /^arn:(aws[a-z-]*):chime:([a-z]{2,}(?:-[a-z]+)*-[0-9]+):([0-9]{12}):app-instance\/([A-Za-z0-9._-]+)$/;

export interface AppInstanceArnParts {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly appInstanceId: string;
}

export function isChimeArn(value: string): boolean {
  return (
    value.length >= CHIME_ARN_MIN_LENGTH &&
    value.length <= CHIME_ARN_MAX_LENGTH &&
    CHIME_ARN_PATTERN.test(value)
  );
}

/** Splits an app-instance ARN into its parts, or returns null when `arn` is not exactly an app-instance ARN. */
export function parseAppInstanceArn(arn: string): AppInstanceArnParts | null {
  if (!isChimeArn(arn)) return null;
  const match = APP_INSTANCE_ARN_PATTERN.exec(arn);
  if (!match) return null;
  const [, partition, region, accountId, appInstanceId] = match;
  if (
    partition === undefined ||
    region === undefined ||
    accountId === undefined ||
    appInstanceId === undefined
  ) {
    return null;
  }
  return { partition, region, accountId, appInstanceId };
}

export function appInstanceArnProblem(arn: string): string | null {
  if (!isChimeArn(arn)) {
    return `must be a Chime ARN (${CHIME_ARN_MIN_LENGTH}..${CHIME_ARN_MAX_LENGTH} characters, arn:<partition>:<service>:<region>:<account>:<resource>)`;
  }
  if (parseAppInstanceArn(arn) !== null) return null;
  if (/:app-instance\/[^/]+\/user\//.test(arn)) {
    return 'must be an app-instance ARN, not an app-instance user ARN (drop the "/user/..." suffix)';
  }
  return 'must be an app-instance ARN: arn:aws:chime:<region>:<12-digit account>:app-instance/<id>';
}
