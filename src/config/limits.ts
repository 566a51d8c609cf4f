/**
 * Input limits. Defaults follow Segment's HTTP tracking API (32 KB per event, 500 KB per batch request),
 * so anything a Segment SDK sends fits, and anything that would not fit in Segment is refused here too.
 */
export interface ValidationLimits {
  /** Largest serialised event, bytes. Default 32 KB. */
  maxEventBytes: number
  /** Largest request body / batch, bytes (after decompression). Default 500 KB. */
  maxBatchBytes: number
  /** Deepest nesting of objects/arrays inside an event (the event itself is depth 1). Default 16. */
  maxDepth: number
  /** Most keys in any one object. Default 1,000. */
  maxKeysPerObject: number
  /** Longest string value, UTF-16 code units. Default 65,536. */
  maxStringLength: number
  /** Most issues reported for one event; the list ends with `too_many_errors` when cut. Default 20. */
  maxIssuesPerEvent: number
}

export const DEFAULT_LIMITS: Readonly<ValidationLimits> = Object.freeze({
  maxEventBytes: 32 * 1024,
  maxBatchBytes: 500 * 1024,
  maxDepth: 16,
  maxKeysPerObject: 1000,
  maxStringLength: 64 * 1024,
  maxIssuesPerEvent: 20,
})
