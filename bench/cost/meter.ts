/** What one measured phase of the cost bench consumed: requests, capacity, invocations and their durations. */
import type { AwsRequestObserver, AwsRequestRecord } from '../../shared/aws/request-observer';

export interface Usage {
  /** DynamoDB read and write request units (on-demand billing units), from ReturnConsumedCapacity. */
  readUnits: number;
  writeUnits: number;
  dynamoRequests: number;
  /** SQS requests: the product's own (measured) and the event source mapping's receive and delete per batch. */
  sqsRequests: number;
  /** EventBridge events published (billed per entry) and PutEvents requests. */
  events: number;
  putEventsRequests: number;
  /** Lambda invocations per function, and their summed wall time in ms. */
  invocations: Record<string, number>;
  durationMs: Record<string, number>;
  /** Per DynamoDB operation: requests and capacity units (where the cost comes from). */
  byOperation: Record<string, { requests: number; units: number }>;
}

export function emptyUsage(): Usage {
  return {
    readUnits: 0,
    writeUnits: 0,
    dynamoRequests: 0,
    sqsRequests: 0,
    events: 0,
    putEventsRequests: 0,
    invocations: {},
    durationMs: {},
    byOperation: {},
  };
}

/** Collects the records of every Runtime of the bench into the usage of the phase being measured. */
export class Meter {
  private current: Usage = emptyUsage();

  readonly observe: AwsRequestObserver = (record: AwsRequestRecord) => {
    const usage = this.current;
    if (record.service === 'dynamodb') {
      usage.dynamoRequests += 1;
      const units = record.capacityUnits ?? 0;
      if (record.capacity === 'read') usage.readUnits += units;
      if (record.capacity === 'write') usage.writeUnits += units;
      const entry = usage.byOperation[record.operation] ?? { requests: 0, units: 0 };
      usage.byOperation[record.operation] = entry;
      entry.requests += 1;
      entry.units += units;
    } else if (record.service === 'sqs') {
      usage.sqsRequests += 1;
    } else {
      usage.putEventsRequests += 1;
      usage.events += record.entries ?? 0;
    }
  };

  /** One Lambda invocation of `fn` that took `ms`; `esmRequests` SQS requests its event source made for it. */
  invoked(fn: string, ms: number, esmRequests = 0): void {
    this.current.invocations[fn] = (this.current.invocations[fn] ?? 0) + 1;
    this.current.durationMs[fn] = (this.current.durationMs[fn] ?? 0) + ms;
    this.current.sqsRequests += esmRequests;
  }

  /** Requests of the producer, outside our functions (an application sending onboarding requests). */
  producerRequests(count: number): void {
    this.current.sqsRequests += count;
  }

  /** Measures `work`: the usage of everything that ran meanwhile. */
  async measure(work: () => Promise<void>): Promise<Usage> {
    const before = this.current;
    this.current = emptyUsage();
    try {
      await work();
      return this.current;
    } finally {
      this.current = before;
    }
  }
}

/** `a - b`, member by member (the extra of one kind of run over another). */
export function difference(a: Usage, b: Usage): Usage {
  const keys = (x: Record<string, unknown>, y: Record<string, unknown>) => [
    ...new Set([...Object.keys(x), ...Object.keys(y)]),
  ];
  const diff = (x: Record<string, number>, y: Record<string, number>) =>
    Object.fromEntries(keys(x, y).map((key) => [key, (x[key] ?? 0) - (y[key] ?? 0)]));
  return {
    readUnits: a.readUnits - b.readUnits,
    writeUnits: a.writeUnits - b.writeUnits,
    dynamoRequests: a.dynamoRequests - b.dynamoRequests,
    sqsRequests: a.sqsRequests - b.sqsRequests,
    events: a.events - b.events,
    putEventsRequests: a.putEventsRequests - b.putEventsRequests,
    invocations: diff(a.invocations, b.invocations),
    durationMs: diff(a.durationMs, b.durationMs),
    byOperation: Object.fromEntries(
      keys(a.byOperation, b.byOperation).map((key) => [
        key,
        {
          requests: (a.byOperation[key]?.requests ?? 0) - (b.byOperation[key]?.requests ?? 0),
          units: (a.byOperation[key]?.units ?? 0) - (b.byOperation[key]?.units ?? 0),
        },
      ]),
    ),
  };
}

/** `usage × factor`, member by member. */
export function scaled(usage: Usage, factor: number): Usage {
  const times = (record: Record<string, number>) =>
    Object.fromEntries(Object.entries(record).map(([key, value]) => [key, value * factor]));
  return {
    readUnits: usage.readUnits * factor,
    writeUnits: usage.writeUnits * factor,
    dynamoRequests: usage.dynamoRequests * factor,
    sqsRequests: usage.sqsRequests * factor,
    events: usage.events * factor,
    putEventsRequests: usage.putEventsRequests * factor,
    invocations: times(usage.invocations),
    durationMs: times(usage.durationMs),
    byOperation: Object.fromEntries(
      Object.entries(usage.byOperation).map(([key, value]) => [
        key,
        { requests: value.requests * factor, units: value.units * factor },
      ]),
    ),
  };
}

/** `a + b`. */
export function sum(a: Usage, b: Usage): Usage {
  return difference(a, scaled(b, -1));
}

/**
 * The line through two measurements at sizes x1 < x2 (users per tenant), evaluated at x: intercept (what a
 * run costs whatever its size) plus slope × x (what each user adds). Only for what grows linearly with users.
 */
export function extrapolate(at1: Usage, x1: number, at2: Usage, x2: number, x: number): Usage {
  const slope = scaled(difference(at2, at1), 1 / (x2 - x1));
  return sum(at1, scaled(slope, x - x1));
}
