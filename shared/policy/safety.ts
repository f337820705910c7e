import type { SafetySettings } from './schema';

export interface SafetyCounts {
  readonly usersScanned: number;
  readonly shorteningChanges: number;
}

export interface SafetyVerdict {
  /** True when the run's shortening changes must not be applied without a human looking first. */
  readonly hold: boolean;
  readonly reasons: string[];
}

/**
 * The blast-radius caps: a policy edit that would shorten many users' lives at once (a typo in `days`, a
 * too-broad match) is held instead of applied. Lengthening and removals are never held.
 */
export function evaluateSafety(
  safety: Pick<SafetySettings, 'maxShorteningChanges' | 'maxShorteningPercent'>,
  counts: SafetyCounts,
): SafetyVerdict {
  const { usersScanned, shorteningChanges } = counts;
  const reasons: string[] = [];
  if (shorteningChanges > safety.maxShorteningChanges) {
    reasons.push(
      `${shorteningChanges} shortening changes exceed maxShorteningChanges ${safety.maxShorteningChanges}`,
    );
  }
  // Cross-multiplied so that e.g. 7 of 100 users against a 7% cap is not held by floating-point rounding.
  if (usersScanned > 0 && shorteningChanges * 100 > safety.maxShorteningPercent * usersScanned) {
    const percent = Math.round((shorteningChanges / usersScanned) * 10_000) / 100;
    reasons.push(
      `${shorteningChanges} shortening changes are ${percent}% of ${usersScanned} users scanned, above maxShorteningPercent ${safety.maxShorteningPercent}%`,
    );
  }
  return { hold: reasons.length > 0, reasons };
}
