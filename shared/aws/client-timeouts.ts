/**
 * Timeouts for the AWS SDK clients of DynamoDB, DynamoDB Streams, SQS and EventBridge. The SDK sets none by
 * default, so a call to a service that stops answering (a DynamoDB Local paused with SIGSTOP, a half-open
 * connection) waits as long as the service does, and the invocation with it, up to its function's timeout
 * (15 minutes for a reconcile step), its message in flight all along. With these a silent connection fails
 * the attempt with a TimeoutError, which the SDK's retry strategy retries (a transient error), and what still
 * fails reaches the queue driver's backoff instead of hanging.
 *
 * - connectionTimeout: no TCP connection within it;
 * - socketTimeout: no byte on the connection for this long. Above SQS's longest long poll (20 s), which
 *   sends nothing until a message arrives or the wait ends.
 *
 * (`requestTimeout` is not used: in this version of @smithy/node-http-handler it only logs a warning unless
 * `throwOnRequestTimeout` is also set, and it would also cut a long poll.)
 */
export const AWS_CLIENT_TIMEOUTS = { connectionTimeout: 3_000, socketTimeout: 30_000 } as const;

export interface ClientTimeouts {
  readonly connectionTimeout: number;
  readonly socketTimeout: number;
}

/** The `requestHandler` option of an SDK v3 client with these timeouts. */
export function requestHandlerOptions(timeouts: ClientTimeouts = AWS_CLIENT_TIMEOUTS): {
  readonly requestHandler: { connectionTimeout: number; socketTimeout: number };
} {
  return { requestHandler: { ...timeouts } };
}
