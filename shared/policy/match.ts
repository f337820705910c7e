import type {
  CompiledExemption,
  CompiledPolicy,
  CompiledRule,
  CompiledSelector,
  SelectorMiss,
} from './compile';
import type { MetadataReader, ParsedMetadata } from './kinds/selector';

export type { MetadataReader } from './kinds/selector';

// Matching users against compiled selectors: the one matcher of rules and exemptions, and the trace of what
// was tried that `explain` shows. engine.ts decides what the match means.

export interface PolicyUser {
  readonly appInstanceUserId: string;
  /** The raw Chime Metadata string; rules only match it when it is a JSON object. */
  readonly metadata?: string | undefined;
}

/** Sentinel for "metadata not parsed yet", so a user's Metadata is parsed at most once and only when needed. */
const NOT_PARSED = Symbol('not parsed');

function parseMetadata(raw: string | undefined): ParsedMetadata {
  if (raw === undefined) return null;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Reads a user's Metadata at most once, and only when a selector asks. */
export function metadataReader(user: PolicyUser): MetadataReader {
  let metadata: ParsedMetadata | typeof NOT_PARSED = NOT_PARSED;
  return () => {
    if (metadata === NOT_PARSED) metadata = parseMetadata(user.metadata);
    return metadata;
  };
}

/**
 * The first selector of `selector` that does not match the user, or null when every one does. The one
 * matcher of rules and exemptions, for the sync and for `explain` alike; each selector kind answers for itself
 * (kinds/selectors/), in the registry's order.
 */
export function selectorMiss(
  selector: CompiledSelector,
  userId: string,
  readMetadata: MetadataReader,
): SelectorMiss | null {
  for (const check of selector.checks) {
    const miss = check.miss(userId, readMetadata);
    if (miss !== null) return miss;
  }
  return null;
}

/** What decided a user before the rules were tried: its admin role or an active exemption. */
export type Protection =
  | { readonly kind: 'admin' }
  | { readonly kind: 'exemption'; readonly exemption: CompiledExemption };

/** One step of a resolution, for `explain`: a rule or exemption tried, and why it did or did not match. */
export interface TraceStep {
  readonly kind: 'exemption' | 'rule';
  readonly id: string;
  /** Rules only. */
  readonly priority?: number;
  /** Exemptions only: false once its `until` has passed (it is then not tried). */
  readonly active?: boolean;
  readonly matched: boolean;
  readonly miss: SelectorMiss | null;
}

export interface ResolveContext {
  /** The instant of the decision (epoch ms): an exemption governs its users only before its `until`. */
  readonly now: number;
  /** AppInstanceUserIds of the AppInstance's admins (ListAppInstanceAdmins); absent: not known. */
  readonly admins?: ReadonlySet<string> | undefined;
  /** Filled with every exemption and rule tried, in order (`explain`); absent on the sync's hot path. */
  readonly trace?: TraceStep[] | undefined;
}

/** The lowest-priority rule whose every selector matches; null when none does. */
export function findRule(
  compiled: CompiledPolicy,
  user: PolicyUser,
  readMetadata: MetadataReader,
  trace: TraceStep[] | undefined,
): CompiledRule | null {
  const userId = user.appInstanceUserId;
  for (const rule of compiled.rules) {
    const miss = selectorMiss(rule, userId, readMetadata);
    trace?.push({ kind: 'rule', id: rule.id, priority: rule.priority, matched: miss === null, miss });
    if (miss === null) return rule;
  }
  return null;
}

/**
 * Whether the user is protected from the rules: an admin (while the policy protects admins) or covered by an
 * exemption whose `until` is still ahead (the first in document order wins).
 */
export function findProtection(
  compiled: CompiledPolicy,
  user: PolicyUser,
  context: ResolveContext,
  readMetadata: MetadataReader,
): Protection | null {
  if (compiled.protectAdmins && context.admins?.has(user.appInstanceUserId)) return ADMIN;
  const { trace } = context;
  for (const exemption of compiled.exemptions) {
    if (!(context.now < exemption.untilMs)) {
      trace?.push({ kind: 'exemption', id: exemption.id, active: false, matched: false, miss: null });
      continue;
    }
    const miss = selectorMiss(exemption, user.appInstanceUserId, readMetadata);
    trace?.push({ kind: 'exemption', id: exemption.id, active: true, matched: miss === null, miss });
    if (miss === null) return { kind: 'exemption', exemption };
  }
  return null;
}

const ADMIN: Protection = Object.freeze({ kind: 'admin' });
