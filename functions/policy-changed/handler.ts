import middy from '@middy/core';
import type { DynamoDBStreamEvent, AttributeValue as StreamAttributeValue } from 'aws-lambda';
import { Runtime } from '../../shared/composition-root';
import { createLogger, lambdaContext } from '../../shared/observability';
import { onPolicyChanged, type PolicyChange } from '../../shared/sync/policy-changed';

const logger = createLogger('policy-changed');
const runtime = new Runtime();

function numberOf(value: StreamAttributeValue | undefined): number | undefined {
  return value?.N === undefined ? undefined : Number(value.N);
}

/** Policy table stream → reconcile the tenant whose policy changed, at once. */
export const handler = middy(async (event: DynamoDBStreamEvent): Promise<{ queued: readonly string[] }> => {
  const changes: PolicyChange[] = event.Records.flatMap((record) => {
    const keys = record.dynamodb?.Keys;
    const tenantId = keys?.tenantId?.S;
    if (!tenantId || !record.eventName) return [];
    const image = record.dynamodb?.NewImage;
    return [
      {
        eventName: record.eventName,
        tenantId,
        oldVersion: numberOf(record.dynamodb?.OldImage?.version),
        newVersion: numberOf(image?.version),
        enabled: image?.enabled?.BOOL,
      },
    ];
  });
  const result = await onPolicyChanged(changes, runtime.reconcileQueue());
  logger.info('policy changes handled', { records: event.Records.length, queued: result.queued });
  return result;
}).use(lambdaContext(logger));
