/**
 * EventBridge event-pattern matching, for the local EventBridge's rules. No maintained npm library does this
 * (the candidates are unmaintained plugins with the matcher buried inside), so this follows the EventBridge
 * user guide ("Event patterns", "Content filtering") for what patterns may hold:
 * - every field named in the pattern must match; fields the pattern does not name are ignored;
 * - a leaf is an array of matchers, and the field matches when any of its values (a field may be an array)
 *   matches any matcher;
 * - matchers: a literal string, number or null (exact); `{"prefix"}`, `{"suffix"}`, `{"equals-ignore-case"}`,
 *   `{"wildcard"}`, `{"anything-but": value | [values] | {"prefix"} | {"suffix"}}`, `{"numeric": [op, n, ...]}`,
 *   `{"exists": true | false}`, `{"cidr"}` is not supported (and rejected, rather than never matching);
 * - a nested object matches the event's nested object; `$or` is a list of alternative patterns.
 * `validatePattern` rejects what EventBridge would reject at PutRule, with the path of the problem.
 */

export type EventPattern = { readonly [key: string]: unknown };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  if (!isObject(event)) return false;
  for (const [key, expected] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(expected) || !expected.some((alternative) => matchesPattern(alternative, event))) {
        return false;
      }
      continue;
    }
    const present = Object.hasOwn(event, key);
    const actual = present ? event[key] : undefined;
    if (Array.isArray(expected)) {
      if (!matchesLeaf(expected, present, actual)) return false;
    } else if (isObject(expected)) {
      if (!present) {
        // A nested pattern on a missing object matches only when all it asks is that fields be absent.
        if (!onlyAbsence(expected)) return false;
        continue;
      }
      if (!matchesPattern(expected, actual)) return false;
    } else {
      return false;
    }
  }
  return true;
}

function onlyAbsence(pattern: Record<string, unknown>): boolean {
  return Object.values(pattern).every((expected) =>
    Array.isArray(expected)
      ? expected.some((matcher) => isObject(matcher) && matcher.exists === false)
      : isObject(expected) && onlyAbsence(expected),
  );
}

function matchesLeaf(matchers: readonly unknown[], present: boolean, actual: unknown): boolean {
  const values = Array.isArray(actual) ? actual : [actual];
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) {
      const exists = present && !isObject(actual);
      return matcher.exists === exists;
    }
    if (!present) return false;
    return values.some((value) => matchesOne(matcher, value));
  });
}

function matchesOne(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value;
  if (typeof matcher.prefix === 'string')
    return typeof value === 'string' && value.startsWith(matcher.prefix);
  if (typeof matcher.suffix === 'string') return typeof value === 'string' && value.endsWith(matcher.suffix);
  if (typeof matcher['equals-ignore-case'] === 'string') {
    return typeof value === 'string' && value.toLowerCase() === matcher['equals-ignore-case'].toLowerCase();
  }
  if (typeof matcher.wildcard === 'string')
    return typeof value === 'string' && wildcard(matcher.wildcard).test(value);
  if ('anything-but' in matcher) {
    const excluded = matcher['anything-but'];
    if (isObject(excluded)) return !matchesOne(excluded, value);
    const list = Array.isArray(excluded) ? excluded : [excluded];
    return !list.includes(value as never);
  }
  if (Array.isArray(matcher.numeric)) return typeof value === 'number' && numeric(matcher.numeric, value);
  return false;
}

function wildcard(text: string): RegExp {
  const escaped = text.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's');
}

function numeric(conditions: readonly unknown[], value: number): boolean {
  for (let index = 0; index + 1 < conditions.length; index += 2) {
    const op = conditions[index];
    const bound = conditions[index + 1];
    if (typeof bound !== 'number') return false;
    const ok =
      op === '<'
        ? value < bound
        : op === '<='
          ? value <= bound
          : op === '='
            ? value === bound
            : op === '>'
              ? value > bound
              : op === '>='
                ? value >= bound
                : false;
    if (!ok) return false;
  }
  return true;
}

const MATCHER_KEYS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
]);

/** Problems EventBridge would refuse the pattern for (each with its path); empty when it is valid. */
export function validatePattern(pattern: unknown, path = '(pattern)'): string[] {
  if (!isObject(pattern)) return [`${path}: must be a JSON object`];
  const problems: string[] = [];
  for (const [key, expected] of Object.entries(pattern)) {
    const at = path === '(pattern)' ? key : `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(expected) || expected.length < 2)
        problems.push(`${at}: must be an array of 2 or more patterns`);
      else
        expected.forEach((alternative, index) => {
          problems.push(...validatePattern(alternative, `${at}[${index}]`));
        });
    } else if (Array.isArray(expected)) {
      if (expected.length === 0) problems.push(`${at}: must not be an empty array`);
      expected.forEach((matcher, index) => {
        if (!isObject(matcher)) {
          if (!(typeof matcher === 'string' || typeof matcher === 'number' || matcher === null)) {
            problems.push(`${at}[${index}]: must be a string, number, null or a matcher object`);
          }
          return;
        }
        const keys = Object.keys(matcher);
        const [only] = keys;
        if (keys.length !== 1 || only === undefined || !MATCHER_KEYS.has(only)) {
          problems.push(`${at}[${index}]: must have exactly one of ${[...MATCHER_KEYS].join(', ')}`);
        } else if (only === 'exists' && typeof matcher.exists !== 'boolean') {
          problems.push(`${at}[${index}].exists: must be true or false`);
        }
      });
    } else if (isObject(expected)) {
      problems.push(...validatePattern(expected, at));
    } else {
      problems.push(`${at}: must be an array of matchers or a nested object`);
    }
  }
  return problems;
}
