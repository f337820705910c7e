/**
 * One activity of a user: it moves the user's `lastActiveAt` forward (renewal of `inactiveDays` users).
 * The activity queue's message (shared/activity/message.ts) parses into it; shared/aws/activity.ts stores it.
 */
export interface ActivityEvent {
  readonly tenantId: string;
  readonly appInstanceUserId: string;
  /** Epoch ms of the activity. */
  readonly at: number;
}
