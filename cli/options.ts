import { CliError, EXIT_INVALID } from './errors';
import { quoteInput } from './output';

/** Parses a positive number flag such as --quota-scale, naming the flag when it is wrong. */
export function positiveNumberOption(flag: string, value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed <= 0) {
    throw new CliError(`${flag}: must be a number greater than 0, got ${quoteInput(value)}`, EXIT_INVALID);
  }
  return parsed;
}

export function positiveIntegerOption(flag: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new CliError(
      `${flag}: must be a whole number greater than 0, got ${quoteInput(value)}`,
      EXIT_INVALID,
    );
  }
  return parsed;
}

export function nonNegativeIntegerOption(flag: string, value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed) || parsed < 0) {
    throw new CliError(
      `${flag}: must be a whole number of 0 or more, got ${quoteInput(value)}`,
      EXIT_INVALID,
    );
  }
  return parsed;
}
