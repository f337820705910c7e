import { DescribeAppInstanceUserCommand } from '@aws-sdk/client-chime-sdk-identity';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChimeClient, untilDeadline } from '../../../shared/chime/client';
import type { CallRateLimiter } from '../../../shared/chime/limiter-types';
import { RateLimiter } from '../../../shared/chime/rate-limiter';

/** A deadline on the waits for rate tokens (the queue driver's invocation deadline reaches Chime this way). */

const limiter = () =>
  new RateLimiter({ rateFor: () => 10, burstSeconds: 0.1, clock: { now: () => Date.now() } });

describe('RateLimiter.acquire with a deadline', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a waiter gives up when its signal aborts, leaves the queue, and the others keep their turn', async () => {
    const rateLimiter = limiter();
    await rateLimiter.acquire(['a']);
    const deadline = new AbortController();
    const reason = new Error('deadline');
    const bounded = rateLimiter.acquire(['a'], deadline.signal);
    const unbounded = rateLimiter.acquire(['a']);
    const outcome = bounded.then(
      () => 'granted',
      (error: unknown) => error,
    );
    let unboundedAt: number | undefined;
    void unbounded.then(() => {
      unboundedAt = Date.now();
    });
    await vi.advanceTimersByTimeAsync(50);
    deadline.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(await outcome).toBe(reason);
    expect(rateLimiter.stats().waiting).toBe(1);
    // The withdrawn waiter's token goes to the one behind it: the next refill, at 100 ms.
    await vi.advanceTimersByTimeAsync(100);
    expect(unboundedAt).toBe(100);
    expect(rateLimiter.stats()).toMatchObject({ acquired: 2, waiting: 0 });
  });

  it('an aborted signal rejects at once and takes no token', async () => {
    const rateLimiter = limiter();
    const deadline = new AbortController();
    deadline.abort(new Error('deadline'));
    await expect(rateLimiter.acquire(['a'], deadline.signal)).rejects.toThrow('deadline');
    expect(rateLimiter.stats().acquired).toBe(0);
    // The token is still there for the next caller.
    await rateLimiter.acquire(['a']);
    expect(rateLimiter.stats()).toMatchObject({ acquired: 1, waited: 0 });
  });

  it('a waiter granted before the abort keeps its token, and the abort does nothing to it', async () => {
    const rateLimiter = limiter();
    const deadline = new AbortController();
    await rateLimiter.acquire(['a'], deadline.signal);
    deadline.abort(new Error('late'));
    expect(rateLimiter.stats()).toMatchObject({ acquired: 1, waiting: 0 });
  });
});

describe('untilDeadline', () => {
  /** A limiter that records the signal each attempt brings, and refuses an aborted one as RateLimiter does. */
  function recordingLimiter() {
    const signals: (AbortSignal | undefined)[] = [];
    const callLimiter: CallRateLimiter = {
      acquire: async (_keys, signal) => {
        signals.push(signal);
        if (signal?.aborted) throw signal.reason;
        throw new Error('stop before the network');
      },
      onSuccess: () => {},
      onThrottled: () => {},
    };
    return { callLimiter, signals };
  }

  beforeEach(() => {
    // The SDK resolves credentials before the rate limiter's step; none are used (no request is sent).
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("carries a command's deadline to the rate limiter, and only that command's", async () => {
    const { callLimiter, signals } = recordingLimiter();
    const client = createChimeClient({ limiter: callLimiter, region: 'us-east-1', maxAttempts: 1 });
    const deadline = new AbortController();
    const reason = new Error('the invocation deadline');
    deadline.abort(reason);
    const input = { AppInstanceUserArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u' };
    await expect(
      client.send(untilDeadline(new DescribeAppInstanceUserCommand(input), deadline.signal)),
    ).rejects.toBe(reason);
    await expect(client.send(new DescribeAppInstanceUserCommand(input))).rejects.toThrow(
      'stop before the network',
    );
    expect(signals).toEqual([deadline.signal, undefined]);
    client.destroy();
  });
});
