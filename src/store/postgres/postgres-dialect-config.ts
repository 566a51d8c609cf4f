/** Options of the PostgreSQL dialect. */
export interface PostgresDialectConfig {
  /** `postgres://user:pass@host:port/db`. */
  readonly connectionString: string
  /** Pool size. Default 10. */
  readonly maxConnections?: number
  /** Statement timeout for every query, ms. Default 30,000. */
  readonly statementTimeoutMs?: number
}
