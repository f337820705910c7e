import { CliError } from './errors';

/**
 * Turns the SDK's low-level failures into one line that says what is missing and what to do. The raw
 * messages ("Could not load credentials from any providers", "getaddrinfo ENOTFOUND dynamodb…",
 * "Cannot do operations on a non-existent table") name neither the setting nor the fix.
 */

const SERVICES = [
  { name: 'DynamoDB', variable: 'AWS_ENDPOINT_URL_DYNAMODB', host: /^dynamodb\./ },
  { name: 'Chime SDK Identity', variable: 'AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY', host: /^identity-chime\./ },
  { name: 'SQS', variable: 'AWS_ENDPOINT_URL_SQS', host: /^sqs\./ },
  { name: 'EventBridge', variable: 'AWS_ENDPOINT_URL_EVENTBRIDGE', host: /^events\./ },
] as const;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const WHERE_TO_LOOK =
  'for the local stack, run `npm start` and paste the `export` lines it prints; for a deployed stack, see docs/deploy.md';

interface NetworkError {
  readonly code?: string;
  readonly hostname?: string;
  readonly address?: string;
  readonly port?: number;
  readonly name?: string;
  readonly message?: string;
}

function endpointOf(error: NetworkError, env: NodeJS.ProcessEnv): { service: string; detail: string } | null {
  const host = error.hostname ?? error.address;
  const port = error.port;
  for (const service of SERVICES) {
    const configured = env[service.variable];
    if (configured) {
      let url: URL | undefined;
      try {
        url = new URL(configured);
      } catch {
        url = undefined;
      }
      const sameHost =
        url !== undefined &&
        (url.hostname === host ||
          (host === '127.0.0.1' && url.hostname === 'localhost') ||
          (host === '::1' && url.hostname === 'localhost'));
      const samePort = port === undefined || url === undefined || Number(url.port || 80) === port;
      if (sameHost && samePort) {
        return {
          service: service.name,
          detail: `${configured} (from ${service.variable}): is the local stack running? Start it with \`npm start\`, or fix ${service.variable}`,
        };
      }
    } else if (host !== undefined && service.host.test(host)) {
      return {
        service: service.name,
        detail: `${host}: ${service.variable} is not set, so the CLI called AWS itself; ${WHERE_TO_LOOK}`,
      };
    }
  }
  return null;
}

/** A CliError with a helpful message for a known failure, or null to let the original through. */
export function explainError(error: unknown, env: NodeJS.ProcessEnv = process.env): CliError | null {
  if (typeof error !== 'object' || error === null) return null;
  const failure = error as NetworkError;
  if (
    failure.name === 'CredentialsProviderError' ||
    /Could not load credentials/.test(failure.message ?? '')
  ) {
    return new CliError(
      `no AWS credentials found (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile); ${WHERE_TO_LOOK}`,
    );
  }
  if (failure.code !== undefined && NETWORK_CODES.has(failure.code)) {
    // With several addresses for one name (localhost: ::1 and 127.0.0.1) Node reports an AggregateError whose
    // members carry the address and port.
    const members = (error as { errors?: NetworkError[] }).errors;
    const located =
      failure.hostname === undefined && failure.address === undefined && members?.[0]
        ? { ...members[0], code: failure.code }
        : failure;
    const endpoint = endpointOf(located, env);
    const target = endpoint
      ? `${endpoint.service} at ${endpoint.detail}`
      : `${located.hostname ?? located.address ?? 'an endpoint'}${located.port ? `:${located.port}` : ''}; ${WHERE_TO_LOOK}`;
    return new CliError(`cannot reach ${target} (${failure.code})`);
  }
  return null;
}
