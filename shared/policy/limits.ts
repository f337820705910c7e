/**
 * The limits a policy document is held to, shared by its schema and the checks that span the document. A
 * selector's own limits are in its module (kinds/selectors/).
 */

/** One day in milliseconds: Chime's ExpirationDays count whole days of 24 hours. */
export const DAY_MS = 86_400_000;

/** Chime limits ExpirationDays to 1..5475 (15 years). */
export const MIN_EXPIRATION_DAYS = 1;
export const MAX_EXPIRATION_DAYS = 5475;
export const MAX_RULES = 100;
export const MAX_PRIORITY = 1_000_000;
/**
 * A policy document, as compact JSON, may be at most this many UTF-8 bytes. The store keeps it twice per put
 * (current item and history item), and DynamoDB refuses items above 400 KB; 64 KiB leaves room for both and
 * is far more than 100 rules need.
 */
export const MAX_DOCUMENT_BYTES = 65_536;
/** DynamoDB numbers: magnitude 1e-130 .. 9.99…e125 (or 0), at most 38 significant digits. */
export const DYNAMODB_MIN_MAGNITUDE = 1e-130;
export const DYNAMODB_MAX_MAGNITUDE = 1e126;

export const DEFAULT_SAFETY = {
  minRemainingDays: 1,
  maxShorteningChanges: 100,
  maxShorteningPercent: 10,
} as const;

export const MAX_EXEMPTIONS = 100;
