/**
 * SchemaVer (Snowplow): `MODEL-REVISION-ADDITION`, e.g. `1-0-2`.
 * - MODEL: a change that breaks every historical event (removed or newly required field, narrowed type);
 * - REVISION: a change that may break some historical events;
 * - ADDITION: a change every historical event still passes (a new optional property).
 * MODEL starts at 1; REVISION and ADDITION at 0. No leading zeros.
 */
export interface SchemaVer {
  model: number
  revision: number
  addition: number
}

const SCHEMA_VER = /^([1-9]\d{0,8})-(0|[1-9]\d{0,8})-(0|[1-9]\d{0,8})$/

/** Parses `1-0-2`; null when the text is not SchemaVer. */
export function parseSchemaVer(text: string): SchemaVer | null {
  const m = SCHEMA_VER.exec(text)
  if (m === null) return null
  return { model: Number(m[1]), revision: Number(m[2]), addition: Number(m[3]) }
}

export function formatSchemaVer(v: SchemaVer): string {
  return `${v.model}-${v.revision}-${v.addition}`
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareSchemaVer(a: SchemaVer, b: SchemaVer): number {
  return a.model - b.model || a.revision - b.revision || a.addition - b.addition
}

/** Which part changed from `from` to `to` (`to` must be greater). */
export function schemaVerBump(from: SchemaVer, to: SchemaVer): 'model' | 'revision' | 'addition' {
  if (to.model !== from.model) return 'model'
  if (to.revision !== from.revision) return 'revision'
  return 'addition'
}
