import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBStreamEvent, AttributeValue as StreamAttributeValue } from 'aws-lambda';
import { Runtime } from '../../shared/composition-root';
import { createLogger, lambdaContext } from '../../shared/observability';
import { onPolicyChanged, type PolicyChange } from '../../shared/sync/policy-changed';

const logger = createLogger('policy-changed');
const runtime = new Runtime();

/** A stream image as plain values; aws-lambda types the same JSON more loosely than the SDK does. */
function imageOf(image: Record<string, StreamAttributeValue> | undefined): Record<string, unknown> {
  return image ? unmarshall(image as Record<string, AttributeValue>) : {};
}

const numberOr = (value: unknown) => (typeof value === 'number' ? value : undefined);

/** Policy table stream → reconcile the tenant whose policy changed, at once. */
export const handler = middy(async (event: DynamoDBStreamEvent): Promise<{ queued: readonly string[] }> => {
  const changes: PolicyChange[] = event.Records.flatMap((record) => {
    const { tenantId } = imageOf(record.dynamodb?.Keys);
    if (typeof tenantId !== 'string' || !tenantId || !record.eventName) return [];
    const image = imageOf(record.dynamodb?.NewImage);
    return [
      {
        eventName: record.eventName,
        tenantId,
        oldVersion: numberOr(imageOf(record.dynamodb?.OldImage).version),
        newVersion: numberOr(image.version),
        enabled: typeof image.enabled === 'boolean' ? image.enabled : undefined,
      },
    ];
  });
  const result = await onPolicyChanged(changes, runtime.reconcileQueue());
  logger.info('policy changes handled', { records: event.Records.length, queued: result.queued });
  return result;
}).use(lambdaContext(logger));
