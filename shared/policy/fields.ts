import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------
// Schema building blocks. Each field carries one message that states the whole constraint, so a policy author
// sees `must be an integer 1..5475` rather than zod's per-check wording.

type IssueLike = { readonly input?: unknown };

export function fieldError(message: string) {
  // Every check of these fields is given a defined input, so undefined can only mean a missing member.
  return (issue: IssueLike) => (issue.input === undefined ? 'is required' : message);
}

export function integerIn(min: number, max: number) {
  const message = `must be an integer ${min}..${max}`;
  return z
    .int({ error: fieldError(message) })
    .min(min, { error: message })
    .max(max, { error: message });
}

export function stringOfLength(min: number, max: number) {
  const message = `must be a string of ${min}..${max} characters`;
  return z
    .string({ error: fieldError(message) })
    .min(min, { error: message })
    .max(max, { error: message });
}

/** Tenant ids (and rule ids): the one definition every boundary (policy, queues, CLI) validates against. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const IDENTIFIER_MESSAGE = 'must be 1..64 characters of A-Z a-z 0-9 . _ -';
export const identifier = z
  .string({ error: fieldError(IDENTIFIER_MESSAGE) })
  .regex(TENANT_ID_PATTERN, { error: IDENTIFIER_MESSAGE });

/** z.strictObject whose unknown keys are reported one by one, with the keys that are allowed in that place. */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape, what = 'an object') {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key (allowed: ${allowed})`;
      if (issue.code === 'invalid_type') return issue.input === undefined ? 'is required' : `must be ${what}`;
      return undefined;
    },
  });
}

/** `a, b or c` (or `a, b and/or c`): the kinds of a place, as a message lists them. */
export function joinWords(words: readonly string[], last: 'or' | 'and/or'): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} ${last} ${words[words.length - 1]}`;
}
