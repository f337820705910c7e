/**
 * AppInstance and AppInstanceUser ARN arithmetic, in one place (quotas and the users adapter both need it).
 * Format (Chime SDK developer guide): `arn:aws:chime:<region>:<account>:app-instance/<id>/user/<userId>`.
 * A user id never contains `/` (its pattern is `[A-Za-z0-9:\-_.@]`), so the last `/user/` splits the ARN.
 */
const USER_SEGMENT = '/user/';

/** The AppInstance ARN a user ARN belongs to, or undefined when the ARN is not a user ARN. */
export function appInstanceArnOfUser(appInstanceUserArn: string): string | undefined {
  const index = appInstanceUserArn.lastIndexOf(USER_SEGMENT);
  return index > 0 ? appInstanceUserArn.slice(0, index) : undefined;
}

/** The caller-chosen AppInstanceUserId at the end of a user ARN. */
export function appInstanceUserIdOf(appInstanceUserArn: string): string {
  const index = appInstanceUserArn.lastIndexOf(USER_SEGMENT);
  if (index <= 0) throw new Error("not an AppInstanceUser ARN (no '/user/' segment)");
  return appInstanceUserArn.slice(index + USER_SEGMENT.length);
}

/** The ARN Chime gives a user; the caller chooses the id, so no API call is needed. */
export function appInstanceUserArn(appInstanceArn: string, appInstanceUserId: string): string {
  return `${appInstanceArn}${USER_SEGMENT}${appInstanceUserId}`;
}
