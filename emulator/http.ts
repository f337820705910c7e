/**
 * The HTTP plumbing the API and the admin API share: the server and its timeouts, bounded body reading, and
 * responses and errors in the rest-json shape the AWS SDK parses (also for requests Node's parser refuses).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError, badRequest } from './errors';

export class BodyTooLarge extends Error {}

/** Reads the request body up to `limit` bytes; beyond it keeps draining (so the client is not reset) and throws. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) return;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (tooLarge) reject(new BodyTooLarge(`request body is larger than ${limit} bytes`));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    request.on('error', reject);
  });
}

export function requestHasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return request.headers['transfer-encoding'] !== undefined;
}

/**
 * Bodies are read as JSON whatever their Content-Type says (see docs/emulator.md): the SDK always sends
 * `application/json`, while `curl -d` sends a form type and `fetch` with a string body `text/plain`, and
 * refusing those would only get in the way of hand-written calls. A body that is not JSON gets a 400 anyway.
 */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw badRequest(`body: malformed JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  response.end(text);
}

/** A success without a body (204, or an operation whose response has no members). */
export function sendEmpty(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'x-amzn-requestid': randomUUID(), 'content-length': 0 });
  response.end();
}

function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(
    response,
    error.status,
    { Code: error.code, Message: error.message },
    { 'x-amzn-errortype': error.exception },
  );
}

/** Answers a failed request in the modelled error shape (a socket already answering is dropped instead). */
export function sendFailure(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (error instanceof ApiError) sendError(response, error);
  else if (error instanceof BodyTooLarge) sendError(response, badRequest(`body: ${error.message}`));
  else {
    const message = error instanceof Error ? error.message : String(error);
    sendError(response, new ApiError('ServiceFailureException', `internal emulator error: ${message}`));
  }
}

/** A complete HTTP/1.1 error response for a socket Node's parser gave up on, in the modelled error shape. */
function rawError(status: number, reason: string, error: ApiError): string {
  const body = JSON.stringify({ Code: error.code, Message: error.message });
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `x-amzn-errortype: ${error.exception}\r\n` +
    `x-amzn-requestid: ${randomUUID()}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Requests Node's parser refuses (an unknown method, a bad header, CL+TE, a header block over the limit,
 * garbage) never reach the request handler; answer them in the modelled error shape, then close the connection.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const detail =
    status === 408
      ? 'the request was not received in time (headers within 10 s, the whole request within 60 s)'
      : status === 431
        ? 'the request headers are too large'
        : `malformed HTTP request (${error.code ?? 'parse error'})`;
  socket.end(rawError(status, reason, badRequest(detail)));
}

/** The server, with its timeouts and answers for what never reaches `handle`. */
export function createEmulatorServer(
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): Server {
  const server = createServer(
    {
      // A client gets 10 s to send its headers and 60 s for the whole request (a 100k-user seed takes ~1 s),
      // and an idle keep-alive connection is closed after 30 s: slow or abandoned connections do not pile up.
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      keepAliveTimeout: 30_000,
      // How often Node checks those timeouts (default 30 s, which would let a slow client overstay by that much).
      connectionsCheckingInterval: 1_000,
    },
    handle,
  );
  server.on('clientError', answerClientError);
  // CONNECT is not an operation: without this listener Node would close the socket without a word.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const error = new ApiError(
      'NotFoundException',
      `no Chime SDK Identity operation matches CONNECT ${String(request.url).slice(0, 100)}`,
    );
    socket.end(rawError(404, 'Not Found', error));
  });
  return server;
}

/** Listens on `port` (0: a free one) and resolves with the bound address. */
export async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
