/** Errors in the rest-json shape the AWS SDK parses: `x-amzn-errortype` header plus `{ Code, Message }` body. */

/** Exception name → HTTP status and `ErrorCode` enum value, as declared in the model (service-2.json). */
export const EXCEPTIONS = {
  BadRequestException: { status: 400, code: 'BadRequest' },
  ResourceLimitExceededException: { status: 400, code: 'ResourceLimitExceeded' },
  UnauthorizedClientException: { status: 401, code: 'Unauthorized' },
  ForbiddenException: { status: 403, code: 'Forbidden' },
  NotFoundException: { status: 404, code: 'NotFound' },
  ConflictException: { status: 409, code: 'Conflict' },
  ThrottledClientException: { status: 429, code: 'Throttled' },
  ServiceFailureException: { status: 500, code: 'ServiceFailure' },
  ServiceUnavailableException: { status: 503, code: 'ServiceUnavailable' },
} as const;

export type ExceptionName = keyof typeof EXCEPTIONS;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(
    readonly exception: ExceptionName,
    message: string,
    /** Overrides the model status, e.g. 413 for an oversized body or 404 for an unknown route. */
    status?: number,
    code?: string,
  ) {
    super(message);
    this.name = exception;
    this.status = status ?? EXCEPTIONS[exception].status;
    this.code = code ?? EXCEPTIONS[exception].code;
  }
}

export const badRequest = (message: string): ApiError => new ApiError('BadRequestException', message);
export const notFound = (message: string): ApiError => new ApiError('NotFoundException', message);
export const conflict = (message: string): ApiError => new ApiError('ConflictException', message);
export const forbidden = (message: string): ApiError => new ApiError('ForbiddenException', message);
export const limitExceeded = (message: string): ApiError =>
  new ApiError('ResourceLimitExceededException', message);
