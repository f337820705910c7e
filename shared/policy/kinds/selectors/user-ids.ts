import { z } from 'zod';
import { fieldError, stringOfLength } from '../../fields';
import { defineSelector } from '../selector';

/** `userIds` (exemptions only): the user is one of the ids listed. */

/** At most this many user ids in one exemption's `userIds`. */
export const MAX_EXEMPTION_USER_IDS = 1000;

const LIST_MESSAGE = `must be an array of 1..${MAX_EXEMPTION_USER_IDS} user ids`;

export interface UserIdsMiss {
  readonly selector: 'userIds';
  readonly count: number;
}

export const userIds = defineSelector({
  name: 'userIds',
  scope: 'exemptions',
  reads: 'userId',
  schema: z
    .array(stringOfLength(1, 64), { error: fieldError(LIST_MESSAGE) })
    .min(1, { error: LIST_MESSAGE })
    .max(MAX_EXEMPTION_USER_IDS, {
      error: (issue) =>
        `must have at most ${MAX_EXEMPTION_USER_IDS} user ids (got ${(issue.input as unknown[]).length})`,
    }),
  compile(ids) {
    const listed = new Set(ids);
    const miss: UserIdsMiss = { selector: 'userIds', count: ids.length };
    return (userId) => (listed.has(userId) ? null : miss);
  },
  missText: (miss: UserIdsMiss) => `user id is not among its ${miss.count} user ids`,
  summary: (ids) => `${ids.length} user id(s)`,
  candidates: (ids) => ids,
});
