/**
 * The one table of request-level error codes: what an API caller or CLI user can get back as
 * `{ error: { code, message, statusCode, details? } }`. Codes are API: never rename or reuse one.
 * Each is documented in docs/errors.md (a test keeps the two in step).
 */
export const ERROR_CODES = {
  // ── request ──────────────────────────────────────────────────────────────────────────────────────
  validation_failed: { statusCode: 400, message: 'The request does not match the expected shape' },
  invalid_json: { statusCode: 400, message: 'The request body is not valid JSON' },
  invalid_body: { statusCode: 400, message: 'The request body must be a JSON object or array' },
  invalid_cursor: { statusCode: 400, message: 'The cursor is malformed or was issued for another query' },
  invalid_encoding: { statusCode: 400, message: 'The body could not be decoded with its Content-Encoding' },
  payload_too_large: { statusCode: 413, message: 'The request body is larger than the limit' },
  unsupported_media_type: { statusCode: 415, message: 'The Content-Type is not supported' },
  not_found: { statusCode: 404, message: 'Not found' },
  method_not_allowed: { statusCode: 405, message: 'The path exists, but not for this method' },
  conflict: { statusCode: 409, message: 'The resource already exists with different content' },
  malformed_request: { statusCode: 400, message: 'The request is not valid HTTP/1.1' },
  request_timeout: { statusCode: 408, message: 'The request did not arrive in time' },
  headers_too_large: { statusCode: 431, message: 'The request headers are too large' },
  expectation_failed: { statusCode: 417, message: 'Only "Expect: 100-continue" is supported' },
  // ── auth ─────────────────────────────────────────────────────────────────────────────────────────
  unauthorized: { statusCode: 401, message: 'Missing or unknown API key' },
  forbidden: { statusCode: 403, message: 'This key may not do that' },
  // ── capacity and dependencies ───────────────────────────────────────────────────────────────────
  rate_limited: { statusCode: 429, message: 'Too many requests; retry after the indicated delay' },
  overloaded: { statusCode: 503, message: 'Ingest queue is full; retry after the indicated delay' },
  store_unavailable: {
    statusCode: 503,
    message: 'The database is unavailable; retry after the indicated delay',
  },
  query_timeout: {
    statusCode: 503,
    message: 'The query ran longer than the database allows; narrow it (a shorter range, an indexed filter)',
  },
  // ── schema registry ──────────────────────────────────────────────────────────────────────────────
  schema_invalid: { statusCode: 400, message: 'The JSON Schema is not valid' },
  schema_version_invalid: {
    statusCode: 400,
    message: 'Schema versions are SchemaVer: MODEL-REVISION-ADDITION',
  },
  schema_version_exists: { statusCode: 409, message: 'That schema version is already registered' },
  schema_version_not_newer: {
    statusCode: 409,
    message: 'A new schema version must be greater than the latest',
  },
  // ── startup and usage ────────────────────────────────────────────────────────────────────────────
  config_invalid: { statusCode: 500, message: 'The configuration is invalid' },
  usage: { statusCode: 400, message: 'Invalid command-line usage' },
  internal: { statusCode: 500, message: 'Internal error' },
} as const satisfies Record<string, { statusCode: number; message: string }>

export type ErrorCode = keyof typeof ERROR_CODES
