import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbUrl: string;
  }
}

/** The DynamoDB Local that the integration project's global setup started. */
export function dynamoDbUrl(): string {
  return inject('dynamoDbUrl');
}
