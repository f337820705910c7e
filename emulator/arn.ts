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

/** Parses a Chime SDK Identity resource ARN; returns undefined for anything else. */
export function parseArn(arn: string): ParsedArn | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition = '', service = '', region = '', account = ''] = parts;
  // A user id may itself contain ':' so the resource is everything after the fifth colon.
  const resource = parts.slice(5).join(':');
  const segments = resource.split('/');
  if (segments[0] !== 'app-instance' || !segments[1]) return undefined;
  const appInstanceArn = `arn:${partition}:${service}:${region}:${account}:app-instance/${segments[1]}`;
  const base = { partition, service, region, account, appInstanceArn };
  if (segments.length === 2) return { ...base, kind: 'app-instance', id: segments[1] };
  if (segments.length === 4 && segments[3]) {
    if (segments[2] === 'user') return { ...base, kind: 'user', id: segments[3] };
    if (segments[2] === 'bot') return { ...base, kind: 'bot', id: segments[3] };
  }
  return undefined;
}
