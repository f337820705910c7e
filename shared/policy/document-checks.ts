import { parseRoleArn } from './access';
import { parseAppInstanceArn } from './arn';
import { joinWords } from './fields';
import { SELECTOR_KINDS } from './kinds/registry';
import { DYNAMODB_MAX_MAGNITUDE, DYNAMODB_MIN_MAGNITUDE, MAX_DOCUMENT_BYTES } from './limits';
import { formatPath, type PolicyProblem } from './problems';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const selectorNames = SELECTOR_KINDS.map((kind) => kind.name);
const EMPTY_EXEMPTION_MATCH = `must name its users (${joinWords(selectorNames, 'or')}); an exemption never covers every user`;

/**
 * Checks that span rules. They run on the raw input rather than as zod refinements, because zod skips
 * refinements once any rule has a problem, and every problem must be reported in one pass.
 */
export function crossRuleProblems(input: unknown): PolicyProblem[] {
  if (!isRecord(input) || !Array.isArray(input.rules)) return [];
  const problems: PolicyProblem[] = [];
  const firstIndexById = new Map<string, number>();
  const firstIndexByPriority = new Map<number, number>();
  input.rules.forEach((rule: unknown, index) => {
    if (!isRecord(rule)) return;
    if (typeof rule.id === 'string') {
      const first = firstIndexById.get(rule.id);
      if (first === undefined) firstIndexById.set(rule.id, index);
      else {
        problems.push({
          path: formatPath(['rules', index, 'id']),
          message: `duplicate rule id ${JSON.stringify(rule.id)} (also used by rules[${first}])`,
        });
      }
    }
    if (typeof rule.priority === 'number' && Number.isFinite(rule.priority)) {
      const first = firstIndexByPriority.get(rule.priority);
      if (first === undefined) firstIndexByPriority.set(rule.priority, index);
      else {
        problems.push({
          path: formatPath(['rules', index, 'priority']),
          message: `duplicate priority ${rule.priority} (also used by rules[${first}]); priorities must be unique so the winning rule is unambiguous`,
        });
      }
    }
  });
  if (Array.isArray(input.exemptions)) {
    const firstExemption = new Map<string, number>();
    input.exemptions.forEach((exemption: unknown, index) => {
      if (isRecord(exemption) && isRecord(exemption.match) && Object.keys(exemption.match).length === 0) {
        problems.push({
          path: formatPath(['exemptions', index, 'match']),
          message: EMPTY_EXEMPTION_MATCH,
        });
      }
      if (!isRecord(exemption) || typeof exemption.id !== 'string') return;
      const first = firstExemption.get(exemption.id);
      if (first === undefined) firstExemption.set(exemption.id, index);
      else
        problems.push({
          path: formatPath(['exemptions', index, 'id']),
          message: `duplicate exemption id ${JSON.stringify(exemption.id)} (also used by exemptions[${first}])`,
        });
    });
  }
  return problems;
}

/**
 * `access.roleArn` must be a role of the AppInstance's own account (and partition): a role elsewhere could
 * only reach the AppInstance through further trust, which chime-lifecycle never relies on. Checked once both
 * ARNs are well-formed (their own messages cover the rest).
 */
export function accessProblems(input: unknown): PolicyProblem[] {
  if (!isRecord(input) || !isRecord(input.access) || typeof input.appInstanceArn !== 'string') return [];
  const { roleArn } = input.access;
  if (typeof roleArn !== 'string') return [];
  const role = parseRoleArn(roleArn);
  const appInstance = parseAppInstanceArn(input.appInstanceArn);
  if (!role || !appInstance) return [];
  if (role.accountId === appInstance.accountId && role.partition === appInstance.partition) return [];
  return [
    {
      path: formatPath(['access', 'roleArn']),
      message: `is a role of account ${role.accountId} (partition ${role.partition}), but appInstanceArn is in account ${appInstance.accountId} (partition ${appInstance.partition}); the role must be in the AppInstance's own account`,
    },
  ];
}

/**
 * What the store could not hold, checked over the whole document whatever its shape: numbers outside
 * DynamoDB's range (5e-324 fails there with "Number underflow"), strings or keys that are not well-formed
 * Unicode (a lone surrogate), and a document above MAX_DOCUMENT_BYTES.
 */
/** With the u flag a surrogate pair is one code point, so this matches only an unpaired surrogate. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function storageProblems(input: unknown): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const visit = (value: unknown, path: PropertyKey[], depth: number): void => {
    if (problems.length >= 20 || depth > 64) return;
    if (typeof value === 'number') {
      const magnitude = Math.abs(value);
      if (
        !Number.isFinite(value) ||
        (magnitude !== 0 && (magnitude < DYNAMODB_MIN_MAGNITUDE || magnitude >= DYNAMODB_MAX_MAGNITUDE))
      ) {
        problems.push({
          path: formatPath(path),
          message: `${value} cannot be stored: DynamoDB numbers are 0 or of magnitude 1e-130 to 9.99e125`,
        });
      }
    } else if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) {
        problems.push({
          path: formatPath(path),
          message: 'holds a lone surrogate; text must be well-formed Unicode',
        });
      }
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, [...path, index], depth + 1);
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        if (LONE_SURROGATE.test(key)) {
          problems.push({
            path: formatPath([...path, key.replace(/[\uD800-\uDFFF]/gu, '\uFFFD')]),
            message: 'key holds a lone surrogate; text must be well-formed Unicode',
          });
        }
        visit((value as Record<string, unknown>)[key], [...path, key], depth + 1);
      }
    }
  };
  visit(input, [], 0);
  if (problems.length === 0) {
    let bytes: number;
    try {
      bytes = Buffer.byteLength(JSON.stringify(input) ?? '', 'utf8');
    } catch {
      bytes = 0;
    }
    if (bytes > MAX_DOCUMENT_BYTES) {
      problems.push({
        path: '(root)',
        message: `the document is ${bytes} bytes as compact JSON; the limit is ${MAX_DOCUMENT_BYTES} bytes (64 KiB, well under DynamoDB's 400 KB item limit)`,
      });
    }
  }
  return problems;
}
