import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as PolicyModule from '../../../shared/policy';
import { EXPIRATION_KINDS, SELECTOR_KINDS } from '../../../shared/policy/kinds/registry';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const POLICY = join(ROOT, 'shared/policy');
const ARN = 'arn:aws:chime:us-east-1:111122223333:app-instance/8f1c4c6e-0a1b-4f7e-9d55-2a9b1c3d4e5f';
const NOW = Date.UTC(2026, 3, 1);
const DAY = 86_400_000;

// docs/policy.md, "Adding a selector or an expiration kind": a kind is its module plus one line in the registry.
// This test does exactly that to a copy of shared/policy (the domain imports nothing outside it but zod and
// re2js) and shows that the schema, the matcher, explain, policy put's checks, the engine and the listings
// all take the new kinds up.

const SUFFIX_SELECTOR = `import { stringOfLength } from '../../fields';
import { defineSelector } from '../selector';

export interface UserIdSuffixMiss {
  readonly selector: 'userIdSuffix';
  readonly expected: string;
}

export const userIdSuffix = defineSelector({
  name: 'userIdSuffix',
  scope: 'rules',
  reads: 'userId',
  schema: stringOfLength(1, 64),
  compile(suffix) {
    const miss: UserIdSuffixMiss = { selector: 'userIdSuffix', expected: suffix };
    return (userId) => (userId.endsWith(suffix) ? null : miss);
  },
  missText: (miss: UserIdSuffixMiss) => \`user id does not end with \${JSON.stringify(miss.expected)}\`,
  summary: (suffix) => \`suffix \${suffix}\`,
  disjoint: (ours, theirs) => !ours.endsWith(theirs) && !theirs.endsWith(ours),
});
`;

const WEEKS_EXPIRATION = `import { integerIn, strictObject } from '../../fields';
import { defineExpiration, objectWith, plural } from '../expiration';

export const weeks = defineExpiration({
  name: 'weeks',
  schema: strictObject({ weeks: integerIn(1, 782) }, 'an object like {"weeks": 1..782}'),
  written: '{"weeks": 1..782}',
  inExemptions: false,
  needsCreatedTimestamp: true,
  needsActivity: false,
  is: (expiration) => objectWith(expiration, 'weeks'),
  target: (expiration) => ({
    intent: 'days',
    days: expiration.weeks * 7,
    text: plural(expiration.weeks, 'week'),
    wait: null,
  }),
  summary: (expiration) => \`\${expiration.weeks} w\`,
});
`;

/** Every file under `dir` with its text, by path relative to it. */
function filesUnder(dir: string): Map<string, string> {
  const entries = readdirSync(dir, { withFileTypes: true, recursive: true }).filter((entry) =>
    entry.isFile(),
  );
  return new Map(
    entries.map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return [relative(dir, path), readFileSync(path, 'utf8')] as const;
    }),
  );
}

/** `text` with `from` replaced once by `to`; fails when `from` is not there, so the edit cannot silently miss. */
function replaceOnce(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe('adding a kind touches its module and the registry only', () => {
  let work: string;
  let P: typeof PolicyModule;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'policy-kinds-'));
    cpSync(POLICY, join(work, 'policy'), { recursive: true });
    // Bare imports (zod, re2js) resolve from the copy's parent, as from the repository's root.
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
    const kinds = join(work, 'policy/kinds');
    writeFileSync(join(kinds, 'selectors/user-id-suffix.ts'), SUFFIX_SELECTOR);
    writeFileSync(join(kinds, 'expirations/weeks.ts'), WEEKS_EXPIRATION);
    let registry = readFileSync(join(kinds, 'registry.ts'), 'utf8');
    registry = replaceOnce(
      registry,
      "import { userIdPrefix } from './selectors/user-id-prefix';",
      "import { userIdPrefix } from './selectors/user-id-prefix';\nimport { userIdSuffix } from './selectors/user-id-suffix';\nimport { weeks } from './expirations/weeks';",
    );
    registry = replaceOnce(
      registry,
      'userIdPattern, metadata] as const',
      'userIdPattern, userIdSuffix, metadata] as const',
    );
    registry = replaceOnce(registry, 'never, unmanaged] as const', 'never, unmanaged, weeks] as const');
    writeFileSync(join(kinds, 'registry.ts'), registry);
    P = (await import(pathToFileURL(join(work, 'policy/index.ts')).href)) as typeof PolicyModule;
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the copy differs from shared/policy in the registry and the two new modules', () => {
    const before = filesUnder(POLICY);
    const after = filesUnder(join(work, 'policy'));
    const touched = [...after.keys()].filter((path) => before.get(path) !== after.get(path)).sort();
    expect(touched).toEqual([
      'kinds/expirations/weeks.ts',
      'kinds/registry.ts',
      'kinds/selectors/user-id-suffix.ts',
    ]);
  });

  const document = (extra: Record<string, unknown> = {}) => ({
    tenantId: 'acme',
    appInstanceArn: ARN,
    rules: [
      { id: 'bots', priority: 10, match: { userIdSuffix: '-bot' }, expiration: { weeks: 2 } },
      { id: 'guests', priority: 20, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } },
    ],
    ...extra,
  });

  function parsed(extra: Record<string, unknown> = {}) {
    const result = P.parsePolicy(document(extra));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.policy;
  }

  it('the schema accepts them, checks their values and lists them where it lists the kinds', () => {
    expect(P.parsePolicy(document()).ok).toBe(true);
    const wrong = P.parsePolicy({
      ...document(),
      rules: [
        { id: 'a', priority: 1, match: { userIdSuffix: '' }, expiration: { weeks: 0 } },
        { id: 'b', priority: 2, match: { userIdSufix: 'x' }, expiration: 'forever' },
      ],
      exemptions: [
        {
          id: 'e',
          match: {},
          expiration: { weeks: 2 },
          until: '2027-01-01T00:00:00Z',
          reason: 'r',
          owner: 'o',
        },
      ],
    });
    expect(wrong.ok).toBe(false);
    if (wrong.ok) return;
    expect(P.formatProblems(wrong.problems)).toEqual([
      'rules[0].match.userIdSuffix: must be a string of 1..64 characters',
      'rules[0].expiration.weeks: must be an integer 1..782',
      'rules[1].match.userIdSufix: unknown key (allowed: userIdPrefix, userIdPattern, userIdSuffix, metadata)',
      'rules[1].expiration: must be {"days": 1..5475}, {"inactiveDays": 1..5475}, "never", "unmanaged" or {"weeks": 1..782}',
      // An exemption may not pin a kind that says so (inExemptions: false): its key is unknown there.
      'exemptions[0].expiration.days: is required',
      'exemptions[0].expiration.weeks: unknown key (allowed: days, criterion)',
      'exemptions[0].match: must name its users (userIds, userIdPrefix, userIdPattern, userIdSuffix or metadata); an exemption never covers every user',
    ]);
  });

  it('the engine matches the selector and decides by the expiration; explain says why', () => {
    const policy = parsed();
    const createdAt = NOW - DAY;
    const bot = P.decide(policy, { appInstanceUserId: 'build-bot' }, { createdAt }, NOW);
    expect(bot).toMatchObject({
      ruleId: 'bots',
      intent: 'days',
      intendedDays: 14,
      reason: 'rule bots: 2 weeks',
    });
    expect(bot.desired).toEqual({ kind: 'set', days: 14 });
    const explained = P.explainDecision(
      policy,
      { appInstanceUserId: 'guest-1' },
      { createdAt },
      NOW,
      undefined,
    );
    expect(explained.steps.map((step) => step.why)).toEqual([
      'user id does not end with "-bot"',
      'matched: every selector accepts the user',
    ]);
    expect(P.needsCreatedTimestamp(policy, { appInstanceUserId: 'build-bot' })).toBe(true);
    expect(P.policyNeedsActivity(policy)).toBe(false);
  });

  it("policy put's overlap warnings use the selector's own judgement", () => {
    const exemption = (id: string, match: Record<string, unknown>) => ({
      id,
      match,
      expiration: 'never',
      until: new Date(NOW + 30 * DAY).toISOString(),
      reason: 'r',
      owner: 'o',
    });
    const policy = parsed({
      exemptions: [
        exemption('other-suffix', { userIdSuffix: '-svc' }),
        exemption('same-suffix', { userIdSuffix: 'ci-bot' }),
        exemption('listed-bot', { userIds: ['deploy-bot'] }),
      ],
    });
    // Each may share users with a rule: the guests rule constrains no suffix, ci-bot ends in -bot, and the
    // bots rule's id selector accepts deploy-bot.
    expect(P.exemptionWarnings(policy)).toEqual([]);
    const onlyBots = parsed({
      rules: [{ id: 'bots', priority: 10, match: { userIdSuffix: '-bot' }, expiration: { weeks: 2 } }],
      exemptions: [
        exemption('other-suffix', { userIdSuffix: '-svc' }),
        exemption('same-suffix', { userIdSuffix: 'ci-bot' }),
        exemption('listed-human', { userIds: ['alice'] }),
      ],
    });
    // -svc and -bot are disjoint suffixes; alice does not end in -bot.
    expect(P.exemptionWarnings(onlyBots).map((warning) => warning.path)).toEqual([
      'exemptions[0].match',
      'exemptions[2].match',
    ]);
  });

  it('the listings describe them', () => {
    expect(P.describeSelectors({ userIdPrefix: 'x-', userIdSuffix: '-bot' } as never)).toBe(
      'prefix x-; suffix -bot',
    );
    expect(P.describeExpiration({ weeks: 3 } as never)).toBe('3 w');
  });
});

describe('no module outside a kind names it', () => {
  // Kinds whose names are also the engine's vocabulary (`days`, `never` and `unmanaged` intents, a user's
  // Metadata) cannot be told apart by their name; the others must appear only in their module and the registry.
  const ordinaryWords = new Set(['days', 'never', 'unmanaged', 'metadata']);
  const names = [...SELECTOR_KINDS, ...EXPIRATION_KINDS]
    .map((kind) => kind.name)
    .filter((name) => !ordinaryWords.has(name));

  it.each(names)('%s', (name) => {
    const naming = [...filesUnder(POLICY)]
      .filter(([, text]) => new RegExp(`\\b${name}\\b`).test(text))
      .map(([path]) => path)
      .filter((path) => path !== 'kinds/registry.ts');
    expect(naming).toHaveLength(1);
    expect(naming[0]).toMatch(/^kinds\/(selectors|expirations)\//);
  });
});
