/** Phase "idle": with no Chime work left the leases are released and nothing is renewed. */
import type { DeployedRun } from './context';
import { progress, sleep } from './settings';

export async function idlePhase(run: DeployedRun): Promise<void> {
  progress('idle');
  await sleep(3 * run.stack.config.quotaLeaseSeconds * 1000);
  const idleStart = await run.leases.read();
  await sleep(20_000);
  const idleEnd = await run.leases.read();
  run.rows.push({
    metric: 'coordination at idle: DynamoDB requests per minute',
    value: ((idleEnd.requests - idleStart.requests) * 60) / 20,
    unit: 'requests/min',
    baseline: {
      label: 'live leases',
      value: idleEnd.leases.filter((lease) => lease.expiresAtMs > Date.now()).length,
    },
    goal: { op: '<=', value: 0 },
  });
}
