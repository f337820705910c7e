import { z } from 'zod';
import { defineExpiration, type ExpirationTarget } from '../expiration';

const UNMANAGED: ExpirationTarget = Object.freeze({ intent: 'unmanaged' });

/** `"unmanaged"`: the reconciler never touches the user. */
export const unmanaged = defineExpiration({
  name: 'unmanaged',
  schema: z.literal('unmanaged'),
  written: '"unmanaged"',
  inExemptions: true,
  needsCreatedTimestamp: false,
  needsActivity: false,
  is: (expiration) => expiration === 'unmanaged',
  target: () => UNMANAGED,
  summary: () => 'unmanaged',
});
