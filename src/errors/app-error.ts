import { ERROR_CODES, type ErrorCode } from './codes.js'

/**
 * The one error type Tally throws on purpose. It carries a stable `code` from `ERROR_CODES`, the HTTP
 * status that code maps to, optional machine-readable `details`, and the underlying `cause`.
 * `retryAfterSeconds` is set for retriable failures (429/503) and becomes a `Retry-After` header.
 */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details?: unknown
  readonly retryAfterSeconds?: number

  constructor(
    code: ErrorCode,
    message?: string,
    options: {
      details?: unknown
      cause?: unknown
      retryAfterSeconds?: number
      /** Overrides the code's status, for a route that keeps another API's contract (Segment's 400s). */
      statusCode?: number
    } = {},
  ) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.statusCode = options.statusCode ?? ERROR_CODES[code].statusCode
    this.details = options.details
    this.retryAfterSeconds = options.retryAfterSeconds
  }

  /** The JSON body sent to API callers. */
  toJSON() {
    return {
      error: {
        code: this.code,
        message: this.message,
        statusCode: this.statusCode,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    }
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError
}
