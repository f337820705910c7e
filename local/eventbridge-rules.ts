import { type Backoff, backoff } from '../shared/backoff';
import { type EventPattern, matchesPattern, validatePattern } from './event-pattern';

/** An event as EventBridge hands it to a rule's target (and as its patterns see it). */
export interface EventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

/** A rule target's RetryPolicy, as EventBridge takes it. */
export interface RuleRetryPolicy {
  /** Retries after the first attempt, 0..185. */
  readonly maximumRetryAttempts: number;
  /** No retry starts once the event is older than this (60 s .. 24 h), counted from its arrival. */
  readonly maximumEventAgeSeconds: number;
}

/** EventBridge's own default when a target sets no RetryPolicy: 185 retries within 24 hours. */
export const DEFAULT_RULE_RETRY_POLICY: RuleRetryPolicy = {
  maximumRetryAttempts: 185,
  maximumEventAgeSeconds: 86_400,
};

/** Why EventBridge stopped retrying (the EXHAUSTED_RETRY_CONDITION attribute of its DLQ messages). */
export type ExhaustedRetryCondition = 'MaximumRetryAttemptsExhausted' | 'MaximumEventAgeExceeded' | 'Stopped';

/** An event a rule gave up on: what the target's DeadLetterConfig receives, and what is reported. */
export interface DeliveryFailure {
  readonly rule: string;
  readonly event: EventEnvelope;
  /** Attempts made, the first included. */
  readonly attempts: number;
  readonly condition: ExhaustedRetryCondition;
  /** The last attempt's error. */
  readonly error: unknown;
}

/** A failure as reported: whether the dead-letter queue kept the event, and why not when it failed. */
export interface DeliveryFailureReport extends DeliveryFailure {
  readonly deadLettered: boolean;
  /** The dead-letter queue's own failure, when it had one. */
  readonly deadLetterError?: unknown;
}

/** One line naming the rule, the event id, the attempts, the last error and what became of the event. */
export function describeDeliveryFailure(report: DeliveryFailureReport): string {
  const kept = report.deadLettered
    ? 'sent to its dead-letter queue'
    : report.deadLetterError !== undefined
      ? `its dead-letter queue failed too (${messageOf(report.deadLetterError)}): the event is lost`
      : 'the rule has no dead-letter queue: the event is lost';
  return `rule ${report.rule} gave up on event ${report.event.id} after ${report.attempts} attempt(s) (${report.condition}: ${messageOf(report.error)}); ${kept}`;
}

/** A rule: events on `eventBusName` that match `pattern` go to `target`, asynchronously, like EventBridge. */
export interface LocalRule {
  readonly name: string;
  /** Default `default`. */
  readonly eventBusName?: string;
  readonly pattern: EventPattern;
  readonly target: (event: EventEnvelope) => Promise<unknown>;
  /** How a failed delivery is retried; EventBridge's default (DEFAULT_RULE_RETRY_POLICY) when absent. */
  readonly retryPolicy?: RuleRetryPolicy;
  /** The target's dead-letter queue: where an event goes once its retries are spent. */
  readonly deadLetter?: (failure: DeliveryFailure) => Promise<void>;
}

/** Per rule: events delivered, failed attempts retried, events given up on and how many of those were kept. */
export interface DeliveryCounts {
  delivered: number;
  retried: number;
  failed: number;
  deadLettered: number;
}

export interface RuleRouterOptions {
  readonly region: string;
  readonly account: string;
  /**
   * The wait before each retry, in ms (`backoff`, equal jitter: each retry really waits). EventBridge does
   * not publish its intervals; the default, 1 s doubling to 1 min, keeps a local retry within minutes.
   */
  readonly retryBackoff?: Backoff;
  /**
   * Told once per event a rule gave up on, after its dead-letter attempt. Never silent: without this, the
   * report's line (`describeDeliveryFailure`) goes to stderr.
   */
  readonly onDeliveryFailed?: (report: DeliveryFailureReport) => void;
  readonly random?: () => number;
}

const DEFAULT_RETRY_BACKOFF: Backoff = { base: 1_000, cap: 60_000, jitter: 'equal' };

/** An event as PutEvents received it. */
export interface ReceivedEvent {
  readonly id: string;
  readonly time: string;
  readonly eventBusName: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
  readonly resources?: readonly string[];
}

/**
 * The rules of the local buses. Each matching event goes to the rule's target in the background; a failed
 * delivery is retried with backoff within the rule's retry policy (attempts and event age), and an event
 * the rule gives up on goes to its dead-letter queue and is reported, naming the rule and the event id:
 * nothing is dropped silently. Stopping gives up on the retries still waiting, the same way.
 */
export class RuleRouter {
  private readonly rules: LocalRule[] = [];
  readonly counts: Record<string, DeliveryCounts> = {};
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly options: RuleRouterOptions) {}

  add(rule: LocalRule): void {
    const problems = validatePattern(rule.pattern);
    if (problems.length > 0)
      throw new Error(`rule ${rule.name}: invalid event pattern: ${problems.join('; ')}`);
    this.rules.push(rule);
    this.counts[rule.name] ??= { delivered: 0, retried: 0, failed: 0, deadLettered: 0 };
  }

  route(event: ReceivedEvent): void {
    const envelope: EventEnvelope = {
      version: '0',
      id: event.id,
      'detail-type': event.detailType,
      source: event.source,
      account: this.options.account,
      time: event.time,
      region: this.options.region,
      resources: event.resources ?? [],
      detail: event.detail,
    };
    for (const rule of this.rules) {
      if ((rule.eventBusName ?? 'default') !== event.eventBusName) continue;
      if (!matchesPattern(rule.pattern, envelope)) continue;
      const delivery: Promise<void> = this.deliver(rule, envelope).finally(() =>
        this.running.delete(delivery),
      );
      this.running.add(delivery);
    }
  }

  /** Resolves once every delivery started so far has ended: delivered, or given up on and reported. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Gives up on every retry still waiting (each reported and dead-lettered), then waits for them. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.idle();
  }

  private async deliver(rule: LocalRule, event: EventEnvelope): Promise<void> {
    const count = this.counts[rule.name] as DeliveryCounts;
    const policy = rule.retryPolicy ?? DEFAULT_RULE_RETRY_POLICY;
    const arrived = Date.now();
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      try {
        await rule.target(event);
        count.delivered++;
        return;
      } catch (caught) {
        error = caught;
      }
      const delay = backoff(attempt, this.options.retryBackoff ?? DEFAULT_RETRY_BACKOFF, this.options.random);
      const condition: ExhaustedRetryCondition | null = this.stopping.signal.aborted
        ? 'Stopped'
        : attempt > policy.maximumRetryAttempts
          ? 'MaximumRetryAttemptsExhausted'
          : Date.now() + delay - arrived > policy.maximumEventAgeSeconds * 1_000
            ? 'MaximumEventAgeExceeded'
            : null;
      if (condition === null) {
        count.retried++;
        if (await this.wait(delay)) continue;
      }
      return this.giveUp(rule, {
        rule: rule.name,
        event,
        attempts: attempt,
        condition: condition ?? 'Stopped',
        error,
      });
    }
  }

  /** Sleeps; false when stopping cut the wait short. */
  private wait(ms: number): Promise<boolean> {
    const { signal } = this.stopping;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async giveUp(rule: LocalRule, failure: DeliveryFailure): Promise<void> {
    const count = this.counts[rule.name] as DeliveryCounts;
    count.failed++;
    let report: DeliveryFailureReport = { ...failure, deadLettered: false };
    if (rule.deadLetter) {
      try {
        await rule.deadLetter(failure);
        report = { ...failure, deadLettered: true };
        count.deadLettered++;
      } catch (caught) {
        report = { ...failure, deadLettered: false, deadLetterError: caught };
      }
    }
    if (this.options.onDeliveryFailed) this.options.onDeliveryFailed(report);
    else console.error(`local EventBridge: ${describeDeliveryFailure(report)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
