import { z } from 'zod';
import { defineExpiration, type ExpirationTarget } from '../expiration';

const NEVER: ExpirationTarget = Object.freeze({ intent: 'never' });

/** `"never"`: the user must have no expiration; existing ExpirationSettings are removed. */
export const never = defineExpiration({
  name: 'never',
  schema: z.literal('never'),
  written: '"never"',
  inExemptions: true,
  needsCreatedTimestamp: false,
  needsActivity: false,
  is: (expiration) => expiration === 'never',
  target: () => NEVER,
  summary: () => 'never',
});
