/** Roles an API key can have. `write` may only ingest (safe to ship in a browser). */
export const API_KEY_ROLES = ['write', 'read', 'admin'] as const
export type ApiKeyRole = (typeof API_KEY_ROLES)[number]

/** How a project treats events the tracking plan does not know or that break it. */
export const ENFORCEMENT_MODES = ['allow', 'warn', 'block'] as const
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number]

/** Per-project settings the pipeline reads on every event. */
export interface ProjectSettings {
  /** Tracking-plan enforcement. Default `allow`. */
  enforcement: EnforcementMode
  /** Keep raw client IPs instead of anonymising them. Default false. */
  storeRawIp: boolean
  /** Drop events flagged as bots (they are counted). Default false. */
  dropBots: boolean
  /** Name case policy. Default `as-is`. */
  nameCase: 'as-is' | 'snake_case' | 'lower'
  /** Derive a sessionId when the client sent none. Default true. */
  deriveSessionId: boolean
  /** Extra property keys to redact (case-insensitive), beyond the defaults. */
  redactKeys: string[]
  /**
   * Keys whose values are kept as sent: neither the key rule nor the value patterns apply (e.g. `email`, to
   * keep Segment's reserved `email` trait). Matched whole, normalised as redaction keys are. Default none.
   */
  redactExemptKeys: string[]
}

export const DEFAULT_PROJECT_SETTINGS: Readonly<ProjectSettings> = Object.freeze({
  enforcement: 'allow',
  storeRawIp: false,
  dropBots: false,
  nameCase: 'as-is',
  deriveSessionId: true,
  redactKeys: [],
  redactExemptKeys: [],
})

export interface Project {
  id: string
  name: string
  createdAt: string
  settings: ProjectSettings
}

/** A stored API key. The secret itself is never stored: only its SHA-256 (`hash`) and a short prefix. */
export interface ApiKeyRecord {
  id: string
  projectId: string
  role: ApiKeyRole
  /** hex SHA-256 of the full secret. */
  hash: string
  /** First characters of the secret, to tell keys apart in listings. */
  prefix: string
  name: string | null
  createdAt: string
  revokedAt: string | null
}
