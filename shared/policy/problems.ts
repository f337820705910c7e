import type { z } from 'zod';

/** One thing wrong with a policy document; `path` is a JSON path such as `rules[2].expiration.days`. */
export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------------------
// Problems

const IDENTIFIER_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER_KEY.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out === '' ? '(root)' : out;
}

export function formatProblems(problems: readonly PolicyProblem[]): string[] {
  return problems.map((problem) => `${problem.path}: ${problem.message}`);
}

type RawIssue = z.core.$ZodIssue;

export function collectProblems(
  issues: readonly RawIssue[],
  prefix: readonly PropertyKey[],
  out: PolicyProblem[],
): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...path, key]), message: issue.message });
    } else if (issue.code === 'invalid_union') {
      // A value of the right shape for exactly one alternative (e.g. an object for `expiration`) gets that
      // alternative's own problems; anything else gets the union's single message.
      const relevant = issue.errors.filter(
        (branch) =>
          !branch.some(
            (inner) =>
              inner.path.length === 0 && (inner.code === 'invalid_type' || inner.code === 'invalid_value'),
          ),
      );
      // Of several object alternatives, the one whose keys the value uses (an object holding the second kind's
      // key is not a mistyped first kind).
      const keyed = relevant.filter(
        (branch) => !branch.some((inner) => inner.path.length === 0 && inner.code === 'unrecognized_keys'),
      );
      // Otherwise the first object alternative (the registry's first: {"days": ...}), whose problems say the most
      // to a reader.
      const [only] = keyed.length === 1 ? keyed : relevant;
      if (only !== undefined) collectProblems(only, path, out);
      else out.push({ path: formatPath(path), message: issue.message });
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
}

/** zod may report one bad value twice (e.g. 1e300 fails both the safe-integer and the maximum check). */
export function dedupe(problems: readonly PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\u0000${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
