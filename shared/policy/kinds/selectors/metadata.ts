import { z } from 'zod';
import { defineSelector } from '../selector';

/**
 * `metadata`: for every key, the user's Chime Metadata (parsed as a JSON object) holds a string equal to the
 * given one or to one of the listed ones.
 */

export type MetadataSelector = Record<string, string | string[]>;

export const MAX_METADATA_KEYS = 20;
export const MAX_METADATA_VALUES = 50;

const VALUE_MESSAGE = `must be a string or a non-empty array of at most ${MAX_METADATA_VALUES} strings`;

/**
 * Validated by hand rather than with z.record: zod's record drops a `__proto__` key (silently widening the
 * match) and rejects an object whose `constructor` key is a string. Metadata keys are arbitrary user data, so
 * every key must be kept and checked as written.
 */
const metadataSchema = z
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
        fail(VALUE_MESSAGE, [key]);
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

export interface MetadataMiss {
  readonly selector: 'metadata';
  readonly key: string;
  readonly accepted: readonly string[];
  /** `no-object`: the user's Metadata is absent or not a JSON object. */
  readonly problem: 'no-object' | 'key-absent' | 'value-not-accepted';
}

const acceptedValues = (accepted: string | readonly string[] | undefined): readonly string[] =>
  ([] as string[]).concat(accepted ?? []);

const list = (values: readonly string[]) => values.map((value) => JSON.stringify(value)).join(', ');

export const metadata = defineSelector({
  name: 'metadata',
  scope: 'rules',
  reads: 'metadata',
  schema: metadataSchema,
  compile(selector) {
    const keys = Object.entries(selector).map(([key, value]) => {
      const accepted = typeof value === 'string' ? [value] : value;
      const missOf = (problem: MetadataMiss['problem']): MetadataMiss => ({
        selector: 'metadata',
        key,
        accepted,
        problem,
      });
      return {
        key,
        accepted,
        noObject: missOf('no-object'),
        keyAbsent: missOf('key-absent'),
        valueNotAccepted: missOf('value-not-accepted'),
      };
    });
    return (_userId, readMetadata) => {
      if (keys.length === 0) return null;
      const metadata = readMetadata();
      for (const { key, accepted, noObject, keyAbsent, valueNotAccepted } of keys) {
        if (metadata === null) return noObject;
        // Own properties only: `{"constructor": "x"}` must not be confused with Object.prototype.constructor.
        if (!Object.hasOwn(metadata, key)) return keyAbsent;
        const value = metadata[key];
        if (typeof value !== 'string' || !accepted.includes(value)) return valueNotAccepted;
      }
      return null;
    };
  },
  missText(miss: MetadataMiss) {
    const key = `metadata key ${JSON.stringify(miss.key)}`;
    if (miss.problem === 'no-object')
      return `${key}: the user's Metadata is absent or not a JSON object (wanted one of ${list(miss.accepted)})`;
    if (miss.problem === 'key-absent')
      return `${key}: absent from the user's Metadata (wanted one of ${list(miss.accepted)})`;
    return `${key}: the user's value is none of ${list(miss.accepted)}`;
  },
  summary: (selector) => `metadata ${Object.keys(selector).join(',')}`,
  // Disjoint when some key both name accepts no common value; a key only one names constrains nothing here.
  disjoint(ours, theirs) {
    return Object.keys(ours).some(
      (key) =>
        Object.hasOwn(theirs, key) &&
        !acceptedValues(ours[key]).some((value) => acceptedValues(theirs[key]).includes(value)),
    );
  },
});
