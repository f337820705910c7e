/**
 * The onboarding soak's ceiling child (ceiling.ts starts it): the clean pass against fresh servers whose
 * emulator and handler enforce the quotas at CEILING_QUOTA_SCALE; prints `RESULT <creates/s>`. A module of its
 * own: the soak imports ceiling.ts, and an entry that awaited the soak from inside ceiling.ts would wait on
 * itself.
 */
import { soak } from './index';
import { CEILING_QUOTA_SCALE } from './settings';

const [clean] = await soak(CEILING_QUOTA_SCALE, ['clean']);
if (!clean || clean.lost > 0 || clean.created < clean.requests) {
  console.error(`onboarding ceiling: the clean pass did not finish (${JSON.stringify(clean)})`);
  process.exitCode = 1;
} else {
  console.log(`RESULT ${clean.createsPerSecond}`);
}
// The handler's own clients (built when it was imported) must not keep the child alive once it has answered.
process.exit();
