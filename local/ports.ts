/** Fixed, documented default ports of `npm start`, so the printed `export` lines stay valid from one start to the next. */
export const LOCAL_PORTS = {
  dynamodb: 8000,
  sqs: 9324,
  chime: 8787,
  eventbridge: 4010,
  lambda: 3002,
  /** The local STS (AssumeRole for tenants in other accounts: local/sts-server.ts). */
  sts: 4020,
} as const;
