import {
  ChimeSDKIdentityClient,
  type ChimeSDKIdentityClientConfig,
} from '@aws-sdk/client-chime-sdk-identity';

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A real SDK client pointed at the emulator; retries off by default so every error reaches the test. */
export function chimeClient(
  url: string,
  config: Partial<ChimeSDKIdentityClientConfig> = {},
): ChimeSDKIdentityClient {
  return new ChimeSDKIdentityClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
    ...config,
  });
}

export interface AdminResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the admin API (`/_emulator/...`) with an optional JSON body. */
export async function admin<T = Record<string, unknown>>(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<AdminResponse<T>> {
  const response = await fetch(`${url}/_emulator/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

/** A raw API request with a SigV4-looking Authorization header (the emulator does not verify signatures). */
export async function rawApi(
  url: string,
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; errorType: string | null; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      authorization: 'AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/chime/aws4_request, Signature=0',
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** Captures the error a promise rejects with (fails the test if it resolves). */
export async function errorOf(
  promise: Promise<unknown>,
): Promise<Error & { Code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { Code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
