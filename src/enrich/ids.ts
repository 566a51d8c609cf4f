import type { Identifier } from '../schema/primitives.js'

/** An identifier as stored: numeric ids a client sent become their decimal string; absent becomes null. */
export function normaliseId(value: Identifier | undefined): string | null {
  if (value === undefined || value === null) return null
  return typeof value === 'string' ? value : String(value)
}

/**
 * The stored `messageId`: the client's idempotency key (stringified if numeric) or, when it sent none, the
 * server-assigned event id, so every stored event has one and a generated key is time-ordered too.
 */
export function resolveMessageId(value: Identifier | undefined, eventId: string): string {
  return normaliseId(value) ?? eventId
}
