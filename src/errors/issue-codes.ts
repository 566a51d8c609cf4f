/**
 * Codes of problems found inside one event (`ValidationIssue.code`). They are API: never rename or reuse
 * one. Each is documented in docs/errors.md (a test keeps the two in step).
 */
export const ISSUE_CODES = [
  // ── shape ──────────────────────────────────────────────────────────────────────────────────────────
  'required', // a required field is missing
  'type', // wrong JSON type
  'enum', // not one of the allowed values
  'format', // a string in the wrong format (timestamp without zone, …)
  'pattern', // a string that does not match the required pattern
  'min_length', // string too short (e.g. empty name)
  'max_length', // string too long
  'out_of_range', // number outside its bounds
  'too_many_items', // array longer than allowed
  'unknown_field', // a field the schema does not allow at that place
  'not_allowed', // a known field used where it makes no sense (e.g. traits on a track event)
  'unknown_event', // `type` is not one of the event types, or (block mode) the event is not in the tracking plan
  'schema_violation', // any other rule of a tracking-plan schema
  // ── limits and hostile input ───────────────────────────────────────────────────────────────────────
  'too_large', // event larger than the per-event byte limit
  'too_deep', // nesting deeper than the limit
  'too_many_keys', // an object with more keys than the limit
  'forbidden_key', // __proto__, constructor or prototype as a key
  'invalid_number', // NaN, ±Infinity, or an integer id beyond the safe range
  'invalid_string', // lone surrogate or control character where text is expected
  'invalid_json', // a line (CLI) or body that is not JSON
  // ── cross-field and time ───────────────────────────────────────────────────────────────────────────
  'missing_identity', // neither userId nor anonymousId
  'timestamp_in_future', // beyond the tolerance after skew correction
  'timestamp_too_old', // older than the accepted window
  'invalid_url', // a page URL or referrer that cannot be parsed (kept as sent)
  'unknown_schema_version', // context.schema.version names a version that is not registered
  'too_many_errors', // the list was cut at the cap; more problems exist
  // ── failed events ──────────────────────────────────────────────────────────────────────────────────
  'payload_altered', // a failed event's payload could not be kept as sent (NUL, lone surrogate, nesting); never replayed
] as const
export type IssueCode = (typeof ISSUE_CODES)[number]
