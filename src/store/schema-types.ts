/**
 * A tracking-plan schema version as persisted: a user JSON Schema (draft-07 or 2020-12) for the events of
 * one `type` + `name`, at a SchemaVer version (`MODEL-REVISION-ADDITION`).
 */
export interface StoredSchema {
  projectId: string
  eventType: string
  eventName: string
  /** SchemaVer, e.g. `1-0-2`. */
  version: string
  /** The JSON Schema as registered. It validates the event's `properties` (or `traits` for identify/group). */
  jsonSchema: Record<string, unknown>
  createdAt: string
}
