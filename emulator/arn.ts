/** ARN building and parsing for AppInstances, AppInstanceUsers and AppInstanceBots. */

export type ResourceKind = 'app-instance' | 'user' | 'bot';

export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly kind: ResourceKind;
  /** ARN of the AppInstance the resource belongs to (itself for an AppInstance). */
  readonly appInstanceArn: string;
  /** AppInstance id, user id or bot id. */
  readonly id: string;
}

const APP_INSTANCE = 'app-instance/';

/**
 * Parses a Chime SDK Identity resource ARN; returns undefined for anything else. Index arithmetic rather than
 * split/join because it runs on every request. A user id may itself contain ':', so only the first five
 * colons delimit ARN fields.
 */
export function parseArn(arn: string): ParsedArn | undefined {
  if (!arn.startsWith('arn:')) return undefined;
  const colons = [3];
  for (let i = 0; i < 4; i++) {
    const next = arn.indexOf(':', (colons[i] as number) + 1);
    if (next < 0) return undefined;
    colons.push(next);
  }
  const [, partitionEnd, serviceEnd, regionEnd, accountEnd] = colons as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (!arn.startsWith(APP_INSTANCE, accountEnd + 1)) return undefined;
  const fields = {
    partition: arn.slice(4, partitionEnd),
    service: arn.slice(partitionEnd + 1, serviceEnd),
    region: arn.slice(serviceEnd + 1, regionEnd),
    account: arn.slice(regionEnd + 1, accountEnd),
  };
  const idStart = accountEnd + 1 + APP_INSTANCE.length;
  const slash = arn.indexOf('/', idStart);
  if (slash < 0) {
    const id = arn.slice(idStart);
    return id ? { ...fields, kind: 'app-instance', appInstanceArn: arn, id } : undefined;
  }
  if (slash === idStart) return undefined;
  const kindEnd = arn.indexOf('/', slash + 1);
  if (kindEnd < 0) return undefined;
  const id = arn.slice(kindEnd + 1);
  if (!id || id.includes('/')) return undefined;
  const kindText = arn.slice(slash + 1, kindEnd);
  const kind = kindText === 'user' ? 'user' : kindText === 'bot' ? 'bot' : undefined;
  return kind && { ...fields, kind, appInstanceArn: arn.slice(0, slash), id };
}
