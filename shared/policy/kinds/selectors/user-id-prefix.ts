import { stringOfLength } from '../../fields';
import { defineSelector } from '../selector';

/** `userIdPrefix`: the AppInstanceUserId starts with it (case-sensitive). */

export interface UserIdPrefixMiss {
  readonly selector: 'userIdPrefix';
  readonly expected: string;
}

export const userIdPrefix = defineSelector({
  name: 'userIdPrefix',
  scope: 'rules',
  reads: 'userId',
  schema: stringOfLength(1, 64),
  compile(prefix) {
    const miss: UserIdPrefixMiss = { selector: 'userIdPrefix', expected: prefix };
    return (userId) => (userId.startsWith(prefix) ? null : miss);
  },
  missText: (miss: UserIdPrefixMiss) => `user id does not start with ${JSON.stringify(miss.expected)}`,
  summary: (prefix) => `prefix ${prefix}`,
  // Two prefixes select a common id only when one extends the other.
  disjoint: (ours, theirs) => !ours.startsWith(theirs) && !theirs.startsWith(ours),
});
