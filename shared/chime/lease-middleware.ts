import type { MiddlewareObj } from '@middy/core';

/**
 * Middy middleware: releases the process's quota lease when the invocation ends, successful or not.
 *
 * A Lambda is frozen between invocations, so the coordinator's idle timer (release after 3 s without Chime
 * work) never fires there: a frozen reconcile-tenant would keep counting as a holder until its lease
 * expires (quotaLeaseSeconds), halving the share of whoever still works. A reconcile invocation is one
 * long step of a run, so one release write at its end costs nothing next to its Chime calls. Onboarding
 * does not use it: its invocations follow each other within milliseconds while a backlog drains, and a
 * release and re-join per batch of 100 would double the coordination writes.
 */
export function releaseQuotaLeaseAtEnd(release: () => Promise<void>): MiddlewareObj {
  // release() never throws: a failed release is counted and the lease expires on its own.
  const run = async () => {
    await release();
  };
  return { after: run, onError: run };
}
