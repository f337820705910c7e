import { RE2JS } from 're2js';
import { z } from 'zod';
import { fieldError } from '../../fields';
import { defineSelector } from '../selector';

/**
 * `userIdPattern`: an RE2 search over the AppInstanceUserId. Compiled with re2js (RE2 syntax, linear time), so
 * a hostile pattern or user id cannot make matching hang the way a backtracking engine can on `(a+)+$`.
 */
export function compileUserIdPattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

function userIdPatternProblem(pattern: string): string | null {
  try {
    compileUserIdPattern(pattern);
    return null;
  } catch (error) {
    const detail =
      error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    return `invalid regular expression: ${detail}`;
  }
}

export const MAX_PATTERN_LENGTH = 256;
const LENGTH_MESSAGE = `must be a string of 1..${MAX_PATTERN_LENGTH} characters`;

export interface UserIdPatternMiss {
  readonly selector: 'userIdPattern';
  readonly expected: string;
}

export const userIdPattern = defineSelector({
  name: 'userIdPattern',
  scope: 'rules',
  reads: 'userId',
  schema: z.string({ error: fieldError(LENGTH_MESSAGE) }).check((ctx) => {
    const pattern = ctx.value;
    const problem =
      pattern.length < 1 || pattern.length > MAX_PATTERN_LENGTH
        ? LENGTH_MESSAGE
        : userIdPatternProblem(pattern);
    if (problem !== null) ctx.issues.push({ code: 'custom', message: problem, input: pattern });
  }),
  compile(pattern) {
    const compiled = compileUserIdPattern(pattern);
    const miss: UserIdPatternMiss = { selector: 'userIdPattern', expected: pattern };
    return (userId) => (compiled.test(userId) ? null : miss);
  },
  missText: (miss: UserIdPatternMiss) =>
    `user id does not match userIdPattern ${JSON.stringify(miss.expected)}`,
  summary: (pattern) => `pattern ${pattern}`,
  // No `disjoint`: whether two regular expressions share a match is not decided here; assumed they may.
});
