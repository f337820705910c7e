import { RE2JS } from 're2js';
import { z } from 'zod';
import { MAX_METADATA_KEYS, MAX_METADATA_VALUES, MAX_PATTERN_LENGTH } from './limits';

// ---------------------------------------------------------------------------------------------------------
// Regular expressions

/**
 * userIdPattern is compiled with re2js (RE2 syntax, linear time), so a hostile pattern or user id cannot make
 * matching hang the way a backtracking engine can on `(a+)+$`.
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

const METADATA_VALUE_MESSAGE = `must be a string or a non-empty array of at most ${MAX_METADATA_VALUES} strings`;

export type MetadataSelector = Record<string, string | string[]>;

/**
 * Validated by hand rather than with z.record: zod's record drops a `__proto__` key (silently widening the
 * match) and rejects an object whose `constructor` key is a string. Metadata keys are arbitrary user data, so
 * every key must be kept and checked as written.
 */
export const metadataSelector = z
  .custom<MetadataSelector>(() => true)
  .transform((value: unknown, ctx): MetadataSelector => {
    const fail = (message: string, path: PropertyKey[] = []) => {
      ctx.issues.push({ code: 'custom', message, input: value, path });
    };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(`must be an object of 1..${MAX_METADATA_KEYS} keys`);
      return z.NEVER;
    }
    const entries = Object.entries(value);
    if (entries.length < 1 || entries.length > MAX_METADATA_KEYS) {
      fail(`must have 1..${MAX_METADATA_KEYS} keys (got ${entries.length})`);
    }
    const kept: [string, string | string[]][] = [];
    for (const [key, accepted] of entries) {
      if (key.length < 1 || key.length > 128) fail('key must be 1..128 characters', [key]);
      if (typeof accepted === 'string') {
        kept.push([key, accepted]);
      } else if (Array.isArray(accepted) && accepted.length >= 1 && accepted.length <= MAX_METADATA_VALUES) {
        accepted.forEach((item: unknown, index) => {
          if (typeof item !== 'string') fail('must be a string', [key, index]);
        });
        kept.push([key, [...(accepted as string[])]]);
      } else {
        fail(METADATA_VALUE_MESSAGE, [key]);
      }
    }
    // A null-prototype object, filled with defineProperty: `__proto__`, `constructor` and `prototype` stay
    // ordinary own keys, and no code that reads the selector can reach Object.prototype through one.
    const selector: MetadataSelector = Object.create(null);
    for (const [key, accepted] of kept) {
      Object.defineProperty(selector, key, {
        value: accepted,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return selector;
  });

export const userIdPattern = z
  .string({ error: fieldError(`must be a string of 1..${MAX_PATTERN_LENGTH} characters`) })
  .check((ctx) => {
    const pattern = ctx.value;
    const problem =
      pattern.length < 1 || pattern.length > MAX_PATTERN_LENGTH
        ? `must be a string of 1..${MAX_PATTERN_LENGTH} characters`
        : userIdPatternProblem(pattern);
    if (problem !== null) ctx.issues.push({ code: 'custom', message: problem, input: pattern });
  });
