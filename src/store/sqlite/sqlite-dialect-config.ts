/** Options of the SQLite dialect. */
export interface SqliteDialectConfig {
  /** File path, or `:memory:`. The file's directory is created when missing. */
  readonly filename: string
  /** How long a write waits for another process's lock, ms. Default 5,000. */
  readonly busyTimeoutMs?: number
  /** Page cache size in KiB. Default 65,536 (64 MiB). */
  readonly cacheSizeKib?: number
}
