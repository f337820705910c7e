import { it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { pollOnce } from '../../local/event-source-runner';
import { seedTenant } from '../support/chime';
import { putPolicy, send, startOnboardingStack } from './onboarding/support';

const calls: { name: string; start: number; end: number }[] = [];
for (const C of [DynamoDBClient, ChimeSDKIdentityClient, EventBridgeClient, SQSClient]) {
  const orig = C.prototype.send;
  // biome-ignore lint: experiment
  (C.prototype as any).send = async function (this: any, command: any, ...rest: any[]) {
    const start = performance.now();
    try { return await (orig as any).call(this, command, ...rest); } finally { calls.push({ name: command.constructor.name, start, end: performance.now() }); }
  };
}
const SCALE = Number(process.env.EXP_SCALE ?? 20);
it('batch timing', async () => {
  const stack = await startOnboardingStack({ quotaScale: SCALE, visibilityTimeoutSeconds: 60 });
  const tenants = Array.from({ length: 5 }, (_, i) => `t${i}`);
  for (const t of tenants) await putPolicy(stack.runtime, t, seedTenant(stack.emulator, [], t));
  if (process.env.EXP_FAULTY) stack.emulator.setFaults({ throttleRate: 0.2, serviceUnavailableRate: 0.05 });
  for (let round = 0; round < 5; round++) {
    await send(stack, Array.from({ length: 100 }, (_, i) => ({ tenantId: tenants[i % 5] as string, appInstanceUserId: `u${round}-${i}`, name: 'P' })));
    calls.length = 0;
    let t1 = 0;
    const result = await pollOnce({ sqs: stack.runtime.sqs, queueUrl: stack.queue.url, handler: async (event, context) => { t1 = performance.now(); const r = await stack.handler(event, context); return r; }, batchSize: 100, maximumBatchingWindowSeconds: 1, waitTimeSeconds: 1, functionName: 'onboard-users', timeoutMs: 60000 });
    const end = performance.now();
    const inHandler = calls.filter((c) => c.start >= t1);
    const by = new Map<string, { n: number; sum: number; first: number; last: number }>();
    for (const c of inHandler) { const e = by.get(c.name) ?? { n: 0, sum: 0, first: Infinity, last: 0 }; e.n++; e.sum += c.end - c.start; e.first = Math.min(e.first, c.start - t1); e.last = Math.max(e.last, c.end - t1); by.set(c.name, e); }
    const creates = inHandler.filter((c) => c.name === 'CreateAppInstanceUserCommand').map((c) => c.end - c.start).sort((a, b) => a - b);
    console.log(`  creates p50 ${creates[50]?.toFixed(0)} p90 ${creates[90]?.toFixed(0)} max ${creates[99]?.toFixed(0)}`);
    console.log(`round ${round}: ${result.received} in handler ${(end - t1).toFixed(0)} ms; ` + [...by].map(([k, e]) => `${k.replace('Command', '')} n=${e.n} avg=${(e.sum / e.n).toFixed(0)} [${e.first.toFixed(0)}-${e.last.toFixed(0)}]`).join('; '));
  }
  await stack.close();
}, 120000);
