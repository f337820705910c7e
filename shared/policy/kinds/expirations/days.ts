import { z } from 'zod';
import { integerIn, strictObject } from '../../fields';
import { MAX_EXPIRATION_DAYS, MIN_EXPIRATION_DAYS } from '../../limits';
import { defineExpiration, objectWith, plural } from '../expiration';

const schema = strictObject(
  {
    days: integerIn(MIN_EXPIRATION_DAYS, MAX_EXPIRATION_DAYS),
    criterion: z
      .literal('CREATED_TIMESTAMP', { error: 'must be "CREATED_TIMESTAMP" (the only supported criterion)' })
      .optional(),
  },
  `an object like {"days": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}`,
);

export type DaysExpiration = z.output<typeof schema>;

/** `{"days": D}`: the user expires D days after its creation (Chime's CREATED_TIMESTAMP criterion). */
export const days = defineExpiration({
  name: 'days',
  schema,
  written: `{"days": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}`,
  inExemptions: true,
  needsCreatedTimestamp: true,
  needsActivity: false,
  is: (expiration) => objectWith(expiration, 'days'),
  target: (expiration) => ({
    intent: 'days',
    days: expiration.days,
    text: plural(expiration.days, 'day'),
    wait: null,
  }),
  summary: (expiration) => `${expiration.days} d`,
});
