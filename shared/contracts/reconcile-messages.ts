import { z } from 'zod';
import { IDENTIFIER_MESSAGE, TENANT_ID_PATTERN } from '../policy';

/**
 * The reconcile queue's messages. Produced by the schedule, the policy table's stream, a finishing run (its
 * follow-up) and a checkpoint (its continuation); consumed by functions/reconcile-tenant and pull mode.
 */

const tenantId = z.string().regex(TENANT_ID_PATTERN, IDENTIFIER_MESSAGE);

/** Starts a run for one tenant. */
export const startMessageSchema = z.strictObject({
  kind: z.literal('start'),
  tenantId,
  trigger: z.enum(['schedule', 'policy-changed', 'cli', 'follow-up']),
  /** Apply shortening changes even above the policy's safety caps (an operator approved them). */
  approveShortening: z.boolean().optional(),
});

/** Resumes a run where the previous invocation stopped; `step` guards against duplicate deliveries. */
export const continueMessageSchema = z.strictObject({
  kind: z.literal('continue'),
  tenantId,
  runId: z.string().min(1).max(128),
  step: z.number().int().min(0),
  cursor: z.string().max(4096).optional(),
  /** A copy of the counters so far, for operators reading the queue; the run record is authoritative. */
  counters: z.record(z.string(), z.number()).optional(),
});

export const reconcileMessageSchema = z.discriminatedUnion('kind', [
  startMessageSchema,
  continueMessageSchema,
]);

export type StartMessage = z.infer<typeof startMessageSchema>;
export type ContinueMessage = z.infer<typeof continueMessageSchema>;
export type ReconcileMessage = z.infer<typeof reconcileMessageSchema>;
