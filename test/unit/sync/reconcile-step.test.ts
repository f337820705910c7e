import { describe, expect, it } from 'vitest';
import type { ContinueMessage, ReconcileMessage } from '../../../shared/contracts/reconcile-messages';
import { ChimeCallError } from '../../../shared/errors';
import { syncInProcess } from '../../../shared/sync/pull-mode';
import { reconcileStep, retriesExhausted } from '../../../shared/sync/reconcile-step';
import { reconcileFakes } from '../../support/fakes';

const DAY = 86_400_000;
const start: ReconcileMessage = { kind: 'start', tenantId: 'acme', trigger: 'schedule' };

/** A tenant with four guests (two pages of two) whose expiration is not yet what the policy wants. */
function tenant() {
  const fakes = reconcileFakes();
  // Caps that cannot hold a run: changes are written as they are found.
  fakes.policies.put('acme', {
    safety: { minRemainingDays: 1, maxShorteningChanges: 100_000, maxShorteningPercent: 100 },
  });
  for (const id of ['guest-1', 'guest-2', 'guest-3', 'guest-4']) {
    fakes.chime.add({ appInstanceUserId: id, createdAt: Date.UTC(2025, 0, 9), expirationDays: undefined });
  }
  return fakes;
}

const continuations = (messages: ReconcileMessage[]) =>
  messages.filter((message): message is ContinueMessage => message.kind === 'continue');

describe('reconcileStep: at-least-once branches', () => {
  it('a run goes start → checkpoint per page → done, writing each drifted user once', async () => {
    const fakes = tenant();
    expect((await reconcileStep(start, fakes.deps())).kind).toBe('checkpoint');
    let result = await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, fakes.deps());
    expect(result.kind).toBe('checkpoint');
    result = await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, fakes.deps());
    expect(result).toMatchObject({
      kind: 'done',
      run: { state: 'completed', counters: { scanned: 4, set: 4 } },
    });
    expect(fakes.chime.puts.map((put) => put.days)).toEqual([7, 7, 7, 7]);
  });

  it('duplicate start: a second start while the run is going starts nothing and hands nothing over again', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, fakes.deps());
    fakes.queue.take();
    const again = await reconcileStep(start, fakes.deps());
    expect(again).toMatchObject({ kind: 'done', run: null, skipped: expect.stringMatching(/still going/) });
    expect(fakes.runs.records.size).toBe(1);
    expect(fakes.queue.sent).toEqual([]);
  });

  it('zero-step handover: a start redelivered before its run got going hands the run over again', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const [handover] = fakes.queue.take();
    const again = await reconcileStep(start, fakes.deps());
    expect(again).toMatchObject({ kind: 'done', skipped: expect.stringMatching(/still going/) });
    expect(fakes.runs.records.size).toBe(1);
    expect(fakes.queue.take()).toEqual([handover]);
  });

  it('duplicate continuation: the step already done re-sends the next continuation and does no work', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    await reconcileStep(step0, fakes.deps());
    const [step1] = continuations(fakes.queue.take());
    const putsBefore = fakes.chime.puts.length;
    const again = await reconcileStep(step0, fakes.deps());
    expect(again).toMatchObject({
      kind: 'done',
      skipped: expect.stringMatching(/already done; continuation re-sent/),
    });
    expect(fakes.queue.take()).toEqual([step1]);
    expect(fakes.chime.puts.length).toBe(putsBefore);
  });

  it('stale continuation: a step two or more behind is dropped without sending anything', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    await reconcileStep(step0, fakes.deps());
    await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, fakes.deps());
    fakes.queue.take();
    const run = [...fakes.runs.records.values()][0];
    expect(run?.state).toBe('completed');
    // A finished run drops everything; a running one drops a step far behind.
    expect(await reconcileStep(step0, fakes.deps())).toMatchObject({
      skipped: expect.stringMatching(/is completed/),
    });
    const other = tenant();
    await reconcileStep(start, other.deps());
    const first = other.queue.take()[0] as ContinueMessage;
    await reconcileStep(first, other.deps());
    const running = [...other.runs.records.values()][0];
    if (!running) throw new Error('no run');
    other.runs.records.set(running.runId, { ...running, step: 3 });
    other.queue.take();
    expect(await reconcileStep(first, other.deps())).toMatchObject({
      skipped: 'duplicate delivery of step 0 (run is at 3)',
    });
    expect(other.queue.sent).toEqual([]);
  });

  it('lease lost: the run fails and leaves the new holder its lease', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    fakes.runs.lease = { runId: 'someone-else', until: Number.MAX_SAFE_INTEGER };
    const result = await reconcileStep(step0, fakes.deps());
    expect(result).toMatchObject({
      kind: 'done',
      run: { state: 'failed', reason: 'lease lost to run someone-else' },
    });
    expect(fakes.runs.lease).toEqual({ runId: 'someone-else', until: Number.MAX_SAFE_INTEGER });
    expect(fakes.chime.puts).toEqual([]);
  });

  it('policy disabled mid-run: the next step fails the run, publishes it, writes nothing', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    fakes.policies.put('acme', { enabled: false }, 2);
    const result = await reconcileStep(step0, fakes.deps());
    expect(result).toMatchObject({
      kind: 'done',
      run: { state: 'failed', reason: 'policy removed or disabled during the run' },
    });
    expect(fakes.events.published.map((event) => event.type)).toEqual(['Tenant Run Failed']);
    expect(fakes.chime.puts).toEqual([]);
    expect(fakes.runs.lease).toBeUndefined();
  });

  it('lost conditional save: another delivery saved the step first, so this one sends no continuation', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    fakes.runs.loseNextSave = true;
    const result = await reconcileStep(step0, fakes.deps());
    expect(result).toMatchObject({ kind: 'done', skipped: 'step 0 was completed by another delivery' });
    expect(fakes.queue.sent).toEqual([]);
    expect([...fakes.runs.records.values()][0]?.step).toBe(0);
  });

  it("a failing step returns retryAfter with its error and saves nothing: when it comes back is the driver's", async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    const throttled = new ChimeCallError(
      'ListAppInstanceUsers',
      'throttled',
      'ThrottledClientException',
      429,
    );
    fakes.chime.failNext = throttled;
    const result = await reconcileStep(step0, fakes.deps());
    expect(result).toEqual({ kind: 'retryAfter', error: throttled });
    expect([...fakes.runs.records.values()][0]).toMatchObject({ step: 0, state: 'running' });
    expect(fakes.queue.sent).toEqual([]);
    expect(fakes.events.published).toEqual([]);
    // The same message, delivered again, makes the progress the failed delivery did not.
    expect((await reconcileStep(step0, fakes.deps())).kind).toBe('checkpoint');
  });

  it('retries running out fails the run from its last checkpoint, releases its lease and publishes it', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    const unavailable = new ChimeCallError(
      'ListAppInstanceUsers',
      'retryable',
      'ServiceUnavailableException',
      503,
    );
    fakes.chime.failNext = unavailable;
    const result = await reconcileStep(step0, fakes.deps());
    expect(result.kind).toBe('retryAfter');
    const run = await retriesExhausted(step0, unavailable, fakes.deps());
    expect(run).toMatchObject({
      state: 'failed',
      step: 1,
      reason: 'ListAppInstanceUsers: ServiceUnavailableException (HTTP 503)',
    });
    expect([...fakes.runs.records.values()][0]).toMatchObject({ state: 'failed' });
    expect(fakes.runs.lease).toBeUndefined();
    expect(fakes.events.published.map((event) => event.type)).toEqual(['Tenant Run Failed']);
    // Nothing to fail a second time (a duplicate of the last delivery), and a start has no run to fail.
    expect(await retriesExhausted(step0, unavailable, fakes.deps())).toBeNull();
    expect(await retriesExhausted(start, unavailable, fakes.deps())).toBeNull();
    expect(fakes.events.published).toHaveLength(1);
  });

  it('a terminal failure fails the run at once, without a retry', async () => {
    const fakes = tenant();
    await reconcileStep(start, fakes.deps());
    const step0 = fakes.queue.take()[0] as ContinueMessage;
    const forbidden = new ChimeCallError('ListAppInstanceUsers', 'forbidden', 'ForbiddenException', 403);
    fakes.chime.failNext = forbidden;
    const result = await reconcileStep(step0, fakes.deps());
    expect(result).toMatchObject({ kind: 'terminal', error: forbidden, run: { state: 'failed' } });
    expect(fakes.events.published.map((event) => event.type)).toEqual(['Tenant Run Failed']);
  });

  it('holds shortening above the caps, and re-verifies a ledger entry only when it is due', async () => {
    const fakes = reconcileFakes();
    fakes.policies.put('acme', {
      safety: { minRemainingDays: 1, maxShorteningChanges: 0, maxShorteningPercent: 10 },
    });
    fakes.chime.add({ appInstanceUserId: 'guest-1', createdAt: Date.UTC(2025, 0, 9), expirationDays: 30 });
    const deps = fakes.deps({
      settings: { ...fakes.deps().settings, maxPagesPerInvocation: 10, verifyIntervalMs: 30 * DAY },
    });
    await reconcileStep(start, deps);
    const result = await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, deps);
    expect(result).toMatchObject({ kind: 'held', run: { counters: { shortening: 1, held: 1 } } });
    expect(fakes.chime.puts).toEqual([]);
    expect(fakes.runs.pendingItems.get('guest-1')).toMatchObject({ desiredDays: 7 });
    expect(fakes.chime.describes).toBe(1);
  });
});

describe('pull mode', () => {
  it('every attempt is the last: a retryable failure ends the run failed at once, as retries running out does', async () => {
    const fakes = tenant();
    fakes.chime.admins.add('guest-9');
    // The admin list (the first Chime call of the first step) answers 503.
    fakes.chime.failNext = new ChimeCallError(
      'ListAppInstanceAdmins',
      'retryable',
      'ServiceUnavailableException',
      503,
    );
    const [result] = await syncInProcess(['acme'], (queue) => ({ ...fakes.deps(), queue }));
    expect(result).toMatchObject({
      tenantId: 'acme',
      invocations: 2,
      run: { state: 'failed', reason: 'ListAppInstanceAdmins: ServiceUnavailableException (HTTP 503)' },
    });
    expect(fakes.events.published.map((event) => event.type)).toEqual(['Tenant Run Failed']);
  });
});

describe('reconcileStep: admins', () => {
  it('each invocation lists the admins once; an admin promoted between two pages is protected from then on', async () => {
    const fakes = tenant();
    fakes.chime.admins.add('guest-1');
    await reconcileStep(start, fakes.deps());
    // Page 1 (guest-1, guest-2): guest-1 is an admin.
    await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, fakes.deps());
    expect(fakes.chime.adminLists).toBe(1);
    fakes.chime.admins.add('guest-4');
    // Page 2 (guest-3, guest-4): the next invocation lists again and sees guest-4 promoted.
    const result = await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, fakes.deps());
    expect(fakes.chime.adminLists).toBe(2);
    expect(result).toMatchObject({
      kind: 'done',
      run: { state: 'completed', counters: { scanned: 4, set: 2, protected: 2 } },
    });
    expect(fakes.chime.puts.map((put) => put.arn.split('/').at(-1))).toEqual(['guest-2', 'guest-3']);
  });

  it('a failing admin list fails the step like any Chime call (retried), never reads as "no admins"', async () => {
    const fakes = tenant();
    fakes.chime.admins.add('guest-1');
    await reconcileStep(start, fakes.deps());
    fakes.chime.failNext = new ChimeCallError(
      'ListAppInstanceAdmins',
      'throttled',
      'ThrottledClientException',
      429,
    );
    const result = await reconcileStep(fakes.queue.take()[0] as ReconcileMessage, fakes.deps());
    expect(result.kind).toBe('retryAfter');
    expect(fakes.chime.puts).toEqual([]);
  });
});
