/**
 * The events a client sends (`EventCreate`), as plain TypeScript types for the SDKs: the server's own types
 * are derived from its TypeBox schemas (src/schema), which a package cannot import. These mirror them, and
 * sdk/node/test/event-types.test.ts fails the type check when the two differ in any way.
 */

/** A user or message id: a string (≤ 255 characters) or a safe integer. */
export type Identifier = string | number

/** HTTP methods an `api_request` event may record (upper case). */
export type HttpMethod =
  | 'GET'
  | 'HEAD'
  | 'POST'
  | 'PUT'
  | 'PATCH'
  | 'DELETE'
  | 'OPTIONS'
  | 'TRACE'
  | 'CONNECT'
/** Units a `performance` event's value may be in. */
export type PerformanceUnit = 'ms' | 's' | 'score' | 'bytes' | 'count'
/** web.dev's three-way rating of a web vital. */
export type PerformanceRating = 'good' | 'needs-improvement' | 'poor'

/** A free-form JSON object (properties, traits). */
export type JsonObject = { [key: string]: unknown }

/** `context`: facts about where an event came from. Unknown keys are kept by the server. */
export interface EventContext {
  /** Raw `User-Agent` string. */
  userAgent?: string
  /** Client IP address (anonymised before storage unless the project opts in to raw IPs). */
  ip?: string
  /** BCP-47 locale, e.g. en-GB. */
  locale?: string
  /** IANA time zone, e.g. Europe/Berlin. */
  timezone?: string
  /** The page the event happened on. */
  page?: { url?: string; path?: string; referrer?: string; title?: string; search?: string }
  /** Screen size in CSS pixels and the device pixel ratio. */
  screen?: { width?: number; height?: number; density?: number }
  /** The sending application. */
  app?: { name?: string; version?: string; build?: string | number }
  /** The SDK that sent the event (the SDKs fill it in). */
  library?: { name?: string; version?: string }
  /** UTM campaign; filled from the page URL when absent. */
  campaign?: { source?: string; medium?: string; name?: string; term?: string; content?: string }
  device?: JsonObject
  os?: JsonObject
  /** Pins the tracking-plan schema version the event is validated against, e.g. `{ version: '1-0-2' }`. */
  schema?: { version: string }
}

/** Fields every event may carry. At least one of `userId` and `anonymousId` is required (alias: `userId`). */
export interface CommonFields {
  /** Idempotency key: a retry with the same `messageId` is stored once. The SDKs fill it in. */
  messageId?: Identifier
  /** Your stable id for a known user. */
  userId?: Identifier
  /** Device- or browser-scoped id of a user who is not known yet. */
  anonymousId?: Identifier
  /** Groups events of one visit. */
  sessionId?: Identifier
  /** When the event happened (client clock), ISO-8601 with zone. The SDKs fill it in. */
  timestamp?: string
  /** When the client sent it (client clock); used only to correct clock skew. */
  sentAt?: string
  /** Segment's uncorrected client timestamp; a fallback for `timestamp`. */
  originalTimestamp?: string
  context?: EventContext
  /** Segment's per-destination switches; accepted, not stored. */
  integrations?: JsonObject
}

/** A user action, e.g. "Order Completed". */
export interface TrackEvent extends CommonFields {
  type: 'track'
  name: string
  properties?: JsonObject
}
/** A page view. */
export interface PageEvent extends CommonFields {
  type: 'page'
  name?: string
  properties?: JsonObject
}
/** A mobile screen view. */
export interface ScreenEvent extends CommonFields {
  type: 'screen'
  name?: string
  properties?: JsonObject
}
/** Who the user is. */
export interface IdentifyEvent extends CommonFields {
  type: 'identify'
  traits?: JsonObject
}
/** Associates the user with a group (account, team). */
export interface GroupEvent extends CommonFields {
  type: 'group'
  groupId: Identifier
  traits?: JsonObject
}
/** Merges `previousId` into `userId`. */
export interface AliasEvent extends CommonFields {
  type: 'alias'
  previousId: Identifier
}
/** A web vital (LCP, INP, CLS, FCP, TTFB) or a custom timing; `name` is the metric. */
export interface PerformanceEvent extends CommonFields {
  type: 'performance'
  name: string
  /** Extra keys (e.g. `id`, `delta`, `attribution`) are kept. */
  properties: {
    value: number
    unit?: PerformanceUnit
    rating?: PerformanceRating
    navigationType?: string
  }
}
/** A click, submit, change, scroll or view on an element; `name` is the action. */
export interface InteractionEvent extends CommonFields {
  type: 'interaction'
  name: string
  properties: {
    target: { selector?: string; tag?: string; id?: string; text?: string; href?: string }
  }
}
/** An HTTP request your API served; `name` defaults to `"METHOD route"`. */
export interface ApiRequestEvent extends CommonFields {
  type: 'api_request'
  name?: string
  properties: {
    method: HttpMethod
    /** Route template, e.g. `/users/:id`. */
    route: string
    /** The concrete path requested. */
    path?: string
    statusCode: number
    /** Time to respond, ms. */
    durationMs: number
    requestBytes?: number
    responseBytes?: number
    /** Error class or message, if any. */
    error?: string
  }
}

/** An event as a client sends it, one shape per `type`. */
export type EventCreate =
  | TrackEvent
  | PageEvent
  | ScreenEvent
  | IdentifyEvent
  | GroupEvent
  | AliasEvent
  | PerformanceEvent
  | InteractionEvent
  | ApiRequestEvent
