import type { BatchOutcome } from './types';

/** What Lambda makes of a handler's response: which messages to delete and which to leave for a retry. */

export interface BatchPlan {
  readonly outcome: Exclude<BatchOutcome, 'empty'>;
  readonly deleteIds: readonly string[];
  readonly retryIds: readonly string[];
  /** Why the response made the whole batch fail. */
  readonly problem?: string;
}

/**
 * What Lambda does with a handler's response, per "Reporting batch item failures" in the Lambda developer
 * guide: null/undefined/`{}`/a null or empty `batchItemFailures` → complete success; a failure entry with
 * a missing, empty or unknown `itemIdentifier` (or anything that is not the documented shape) → complete
 * failure; otherwise delete everything not listed.
 */
export function planBatch(
  messageIds: readonly string[],
  response: unknown,
  reportBatchItemFailures = true,
): BatchPlan {
  const success: BatchPlan = { outcome: 'success', deleteIds: messageIds, retryIds: [] };
  const failure = (problem: string): BatchPlan => ({
    outcome: 'failure',
    deleteIds: [],
    retryIds: messageIds,
    problem,
  });
  if (!reportBatchItemFailures || response === undefined || response === null) return success;
  if (typeof response !== 'object' || Array.isArray(response))
    return failure('the response is not an object');
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return success;
  if (!Array.isArray(failures)) return failure('batchItemFailures is not an array');
  const inBatch = new Set(messageIds);
  const failed = new Set<string>();
  for (const item of failures) {
    const identifier = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof identifier !== 'string' || identifier === '') {
      return failure(`a batchItemFailures entry has no itemIdentifier: ${JSON.stringify(item)}`);
    }
    if (!inBatch.has(identifier))
      return failure(`itemIdentifier ${identifier} is not a message of this batch`);
    failed.add(identifier);
  }
  if (failed.size === 0) return success;
  return {
    outcome: failed.size === messageIds.length ? 'failure' : 'partial',
    deleteIds: messageIds.filter((id) => !failed.has(id)),
    retryIds: messageIds.filter((id) => failed.has(id)),
  };
}
