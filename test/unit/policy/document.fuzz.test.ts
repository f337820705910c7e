import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy, decide, parsePolicy } from '../../../shared/policy';
import { formatPath } from '../../../shared/policy/schema';
import { firstInvalidUtf8, parseStrictJson, parseStrictJsonBytes } from '../../../shared/policy/strict-json';
import { APP_INSTANCE_ARN } from './fixtures';

const RUNS = { numRuns: 500 };
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Metadata keys: the prototype names mixed with ordinary ones, so collisions with Object.prototype are common. */
const keyArb = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.constantFrom('plan', 'team', '10', 'é', '😀'));
const textArb = fc.string({ unit: 'grapheme', maxLength: 12 });

const ruleArb = (index: number) =>
  fc.record({
    id: fc.constant(`r${index}`),
    priority: fc.constant(index),
    description: textArb,
    match: fc.record(
      {
        userIdPrefix: fc.constantFrom('a', 'guest-'),
        metadata: fc.dictionary(
          keyArb,
          fc.oneof(textArb, fc.array(textArb, { minLength: 1, maxLength: 3 })),
          { minKeys: 1, maxKeys: 4 },
        ),
      },
      { requiredKeys: [] },
    ),
    expiration: fc.oneof(fc.constant('never'), fc.record({ days: fc.integer({ min: 1, max: 5475 }) })),
  });

/** A valid policy document (as a plain object; `__proto__` keys are own data properties). */
const documentArb = fc.integer({ min: 0, max: 4 }).chain((count) =>
  fc.record({
    tenantId: fc.constantFrom('acme', 'a.b_c-1'),
    appInstanceArn: fc.constant(APP_INSTANCE_ARN),
    rules: fc.tuple(...Array.from({ length: count }, (_, index) => ruleArb(index))),
    safety: fc.record({
      maxShorteningPercent: fc
        .double({ min: 0, max: 100, noNaN: true })
        .filter((value) => value === 0 || value >= 1e-130),
    }),
  }),
);

/** Every object in a value with its path, in document order. */
function objectsIn(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; value: Record<string, unknown> }[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => objectsIn(item, [...path, index]));
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  return [
    { path, value: record },
    ...Object.keys(record).flatMap((key) => objectsIn(record[key], [...path, key])),
  ];
}

/** JSON text of `value`, with a second copy of the first key appended to the object at `target`. */
function withDuplicate(value: unknown, target: (string | number)[], path: (string | number)[] = []): string {
  if (Array.isArray(value))
    return `[${value.map((item, index) => withDuplicate(item, target, [...path, index])).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const members = Object.keys(record).map(
    (key) => `${JSON.stringify(key)}:${withDuplicate(record[key], target, [...path, key])}`,
  );
  const first = Object.keys(record)[0];
  if (first !== undefined && JSON.stringify(path) === JSON.stringify(target))
    members.push(`${JSON.stringify(first)}:null`);
  return `{${members.join(',')}}`;
}

describe('policy documents: fuzzed strict reading', { timeout: 60_000 }, () => {
  it('accepts every valid document, with prototype-named keys kept as data and matched', () => {
    fc.assert(
      fc.property(documentArb, (document) => {
        const text = JSON.stringify(document);
        const read = parseStrictJsonBytes(Buffer.from(text, 'utf8'));
        expect(read.ok).toBe(true);
        if (!read.ok) return;
        expect(JSON.stringify(read.value)).toBe(text);
        const parsed = parsePolicy(read.value);
        expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
        if (!parsed.ok) return;
        const compiled = compilePolicy(parsed.policy);
        parsed.policy.rules.forEach((rule, index) => {
          const selector = rule.match.metadata;
          if (!selector) return;
          // Every key written is an own key, and nothing leaked onto Object.prototype.
          expect(Object.keys(selector).sort()).toEqual(
            Object.keys(document.rules[index]?.match.metadata ?? {}).sort(),
          );
          // A user whose metadata has exactly these values (first of each list) matches the selector.
          const metadata = JSON.stringify(
            Object.fromEntries(
              Object.entries(selector).map(([key, accepted]) => [
                key,
                typeof accepted === 'string' ? accepted : accepted[0],
              ]),
            ),
          );
          const user = { appInstanceUserId: `${rule.match.userIdPrefix ?? ''}user`, metadata };
          const decision = decide(compiled, user, { createdAt: 0, expirationDays: undefined }, 0);
          expect(
            decision.ruleId === null || compiled.rules.some((candidate) => candidate.id === decision.ruleId),
          ).toBe(true);
          // The first rule in priority order that matches wins: this one, unless an earlier one matched.
          if (index === 0) expect(decision.ruleId).toBe(rule.id);
        });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
      RUNS,
    );
  });

  it('accepts a number exactly when DynamoDB can store it and the schema allows it', () => {
    fc.assert(
      fc.property(documentArb, fc.double({ noNaN: true }), (document, percent) => {
        const text = JSON.stringify({ ...document, safety: { maxShorteningPercent: percent } });
        const read = parseStrictJson(text);
        if (!read.ok) return; // Infinity is not JSON
        const parsed = parsePolicy(read.value);
        const storable = percent === 0 || (Math.abs(percent) >= 1e-130 && Math.abs(percent) < 1e126);
        expect(parsed.ok).toBe(storable && percent >= 0 && percent <= 100);
      }),
      RUNS,
    );
  });

  it('rejects a duplicate key anywhere, naming the path of the second', () => {
    fc.assert(
      fc.property(
        documentArb.chain((document) => {
          const objects = objectsIn(document).filter((entry) => Object.keys(entry.value).length > 0);
          return fc.tuple(fc.constant(document), fc.constantFrom(...objects));
        }),
        ([document, target]) => {
          const text = withDuplicate(document, target.path);
          const read = parseStrictJson(text);
          expect(read.ok).toBe(false);
          if (read.ok) return;
          const first = Object.keys(target.value)[0] as string;
          expect(read.problem.path).toBe(formatPath([...target.path, first]));
          expect(read.problem.message).toMatch(
            new RegExp(
              `^duplicate key: a second ${escapeRegExp(JSON.stringify(first))} at line 1 column \\d+`,
            ),
          );
        },
      ),
      RUNS,
    );
  });

  it('finds exactly the byte sequences a strict UTF-8 decoder refuses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        let fatal = false;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          fatal = true;
        }
        expect(firstInvalidUtf8(bytes) >= 0).toBe(fatal);
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects invalid UTF-8 inside a document with its byte offset', () => {
    const badSequences = [
      [0x80],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf5, 0x80],
      [0xe0, 0x80, 0x80],
      [0xe2, 0x82],
      [0xff],
      [0xf4, 0x90, 0x80, 0x80],
    ];
    fc.assert(
      fc.property(documentArb, fc.constantFrom(...badSequences), fc.nat(), (document, bad, pick) => {
        const text = JSON.stringify(document);
        // Inside the tenant id string: the JSON is otherwise intact, only the bytes are wrong.
        const at = Buffer.byteLength(text.slice(0, text.indexOf('"tenantId":"') + 12)) + (pick % 3);
        const bytes = Buffer.from(text, 'utf8');
        const broken = Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]);
        const read = parseStrictJsonBytes(broken);
        expect(read.ok).toBe(false);
        if (read.ok) return;
        expect(read.problem.path).toBe('(root)');
        expect(read.problem.message).toContain(
          `not valid UTF-8: byte 0x${(bad[0] as number).toString(16).toUpperCase()} at byte offset ${at} `,
        );
      }),
      RUNS,
    );
  });

  it('rejects a lone surrogate, escaped or raw, in any string or key, with its path', () => {
    fc.assert(
      fc.property(
        documentArb.filter((document) => document.rules.length > 0),
        fc.integer({ min: 0xd800, max: 0xdfff }),
        fc.boolean(),
        (document, code, escaped) => {
          const hex = code.toString(16);
          const lone = escaped ? `\\u${hex}` : String.fromCharCode(code);
          const text = JSON.stringify(document).replace('"description":"', `"description":"x${lone}`);
          const read = parseStrictJson(text);
          expect(read.ok).toBe(false);
          if (read.ok) return;
          expect(read.problem.path).toBe('rules[0].description');
          expect(read.problem.message).toMatch(/^lone surrogate /);
          // A document built in code (not read from text) is refused by the schema too.
          const built = {
            ...document,
            rules: [{ ...document.rules[0], description: `x${String.fromCharCode(code)}` }],
          };
          const parsed = parsePolicy(built);
          expect(parsed.ok).toBe(false);
          if (!parsed.ok)
            expect(parsed.problems).toContainEqual({
              path: 'rules[0].description',
              message: 'holds a lone surrogate; text must be well-formed Unicode',
            });
        },
      ),
      RUNS,
    );
  });

  it('agrees with JSON.parse on any JSON without duplicate keys or lone surrogates', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const text = JSON.stringify(value);
        const read = parseStrictJson(text);
        if (/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i.test(text)) {
          expect(read.ok).toBe(false);
          return;
        }
        expect(read.ok, text).toBe(true);
        if (read.ok) expect(JSON.stringify(read.value)).toBe(JSON.stringify(JSON.parse(text)));
      }),
      { numRuns: 2000 },
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
