/**
 * The competitor of the "competitor" phase: a client of the same account outside chime-lifecycle, calling at
 * a fixed pace with one attempt per call.
 */
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ChimeSDKIdentityClient, DescribeAppInstanceCommand } from '@aws-sdk/client-chime-sdk-identity';
import { sleep } from './settings';

export interface CompetitorCounts {
  /** Calls sent (each one attempt: the client does not retry). */
  readonly sent: number;
  readonly accepted: number;
  readonly throttled: number;
  /** Answers other than success or 429 (none expected). */
  readonly failed: number;
  /** Slots of the pace not sent because `maxInFlight` calls were outstanding for more than 100 ms. */
  readonly skipped: number;
  readonly seconds: number;
}

/**
 * Another client of the same account, outside chime-lifecycle: DescribeAppInstance on its own AppInstances,
 * round robin, at `ratePerSecond`, paced by a timer with at most `maxInFlight` calls outstanding. One attempt
 * per call and nothing retried, so every call it counts is one call the emulator counts.
 */
export function startCompetitor(options: {
  endpoint: string;
  region: string;
  appInstanceArns: readonly string[];
  ratePerSecond: number;
  maxInFlight: number;
}): { counts(): CompetitorCounts; stop(): Promise<CompetitorCounts> } {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxInFlight });
  const client = new ChimeSDKIdentityClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
    requestHandler: { httpAgent: agent },
  });
  const startedAt = performance.now();
  let stoppedAt: number | undefined;
  let scheduled = 0;
  let sent = 0;
  let accepted = 0;
  let throttled = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  const send = () => {
    const arn = options.appInstanceArns[sent % options.appInstanceArns.length] as string;
    sent += 1;
    inFlight += 1;
    client
      .send(new DescribeAppInstanceCommand({ AppInstanceArn: arn }))
      .then(() => {
        accepted += 1;
      })
      .catch((error: unknown) => {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 429) throttled += 1;
        else failed += 1;
      })
      .finally(() => {
        inFlight -= 1;
      });
  };
  const burstLimit = Math.floor(options.ratePerSecond / 10);
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * options.ratePerSecond);
    // Slots more than 100 ms late (calls outstanding, a busy event loop) are dropped, not sent in a burst.
    if (scheduled < due - burstLimit) {
      skipped += due - burstLimit - scheduled;
      scheduled = due - burstLimit;
    }
    while (scheduled < due && inFlight < options.maxInFlight) {
      scheduled += 1;
      send();
    }
  }, 5);
  const counts = (): CompetitorCounts => ({
    sent,
    accepted,
    throttled,
    failed,
    skipped,
    seconds: ((stoppedAt ?? performance.now()) - startedAt) / 1000,
  });
  let stopped: Promise<CompetitorCounts> | undefined;
  return {
    counts,
    // Idempotent: the phase stops it when its time is up, and again on the way out if the phase failed.
    stop: () => {
      stopped ??= (async () => {
        clearInterval(timer);
        stoppedAt = performance.now();
        while (inFlight > 0) await sleep(10);
        client.destroy();
        agent.destroy();
        return counts();
      })();
      return stopped;
    },
  };
}
