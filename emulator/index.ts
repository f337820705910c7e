/**
 * A local twin of the Amazon Chime SDK Identity 2021-04-20 REST-JSON API for offline tests.
 * Self-contained: imports nothing from the rest of the project. See docs/emulator.md.
 */
export type { EmulatorStats, FaultSettings, SeedRequest, SeedResult } from './admin';
export {
  type CloudTrailEntry,
  type CloudTrailSinkOption,
  cloudTrailEntry,
  putEventsSink,
} from './cloudtrail';
export { ApiError, EXCEPTIONS, type ExceptionName } from './errors';
export type { ChimeEmulatorOptions } from './options';
export { StateFileError } from './persistence';
export { DEFAULT_RATES } from './quotas';
export { DEFAULT_LIMITS, type ResourceLimits } from './records';
export { type ChimeEmulator, startChimeEmulator } from './server';
