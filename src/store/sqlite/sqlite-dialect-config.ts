/** `PRAGMA synchronous` values Tally accepts: FULL (the default) or NORMAL (opt-in). */
export const SQLITE_SYNCHRONOUS = ['full', 'normal'] as const
export type SqliteSynchronous = (typeof SQLITE_SYNCHRONOUS)[number]

/** Options of the SQLite dialect. */
export interface SqliteDialectConfig {
  /** File path, or `:memory:`. The file's directory is created when missing. */
  readonly filename: string
  /** How long a write waits for another process's lock, ms. Default 5,000. */
  readonly busyTimeoutMs?: number
  /** Page cache size in KiB. Default 65,536 (64 MiB). */
  readonly cacheSizeKib?: number
  /**
   * `full` (default): every commit fsyncs the WAL, so an acknowledged write survives a power loss.
   * `normal`: commits do not fsync (only checkpoints do); an acknowledged write survives a crash of the
   * process but the last commits can be lost on a power loss or OS crash. See docs/storage.md.
   */
  readonly synchronous?: SqliteSynchronous
  /** WAL pages before an automatic checkpoint. Default 10,000 (~40 MB of WAL). */
  readonly walAutocheckpointPages?: number
}
