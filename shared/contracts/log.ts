/**
 * The small logging port every use case and adapter writes to (shared/observability.ts adapts the Powertools
 * logger to it). `extra` carries identifiers and counters, never a user's name or metadata.
 */
export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** A log that drops everything (CLI commands and tests that do not watch the log). */
export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} };
