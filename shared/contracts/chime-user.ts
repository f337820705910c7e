/**
 * A Chime AppInstanceUser as onboarding creates and reads it (shared/chime/users.ts sends and returns these).
 * Name and metadata are personal data: never log them.
 */

/** A user to create (CreateAppInstanceUser). */
export interface NewUser {
  readonly appInstanceArn: string;
  readonly appInstanceUserId: string;
  readonly name: string;
  readonly metadata?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly expirationDays?: number;
  /** Deterministic per logical request, so a redelivered message repeats the same create. */
  readonly clientRequestToken: string;
}

/** A user as DescribeAppInstanceUser returns it. */
export interface ExistingUser {
  readonly arn: string;
  readonly appInstanceUserId: string;
  readonly name: string;
  readonly metadata: string;
  /** Epoch milliseconds; expiration is counted from here. */
  readonly createdAt: number;
  /** Undefined when the user has no expiration. */
  readonly expirationDays: number | undefined;
}
