/** Options of the PostgreSQL dialect. */
export interface PostgresDialectConfig {
  /** `postgres://user:pass@host:port/db`. */
  readonly connectionString: string
  /** Pool size. Default 10. */
  readonly maxConnections?: number
  /** Statement timeout for every query, ms (enforced by the server). Default 30,000. */
  readonly statementTimeoutMs?: number
  /**
   * Longest wait for a connection — opening one, or a free one from the pool — before the query fails with
   * `store_unavailable`, ms. Default 10,000.
   */
  readonly connectTimeoutMs?: number
  /**
   * Longest wait for a query's answer on this side, ms. Default: the statement timeout + 5,000. The server's
   * `statement_timeout` cannot help when the network goes silent (a dropped route, a firewall that drops
   * packets): without this limit every request, `/readyz` included, waited until its socket was closed.
   */
  readonly queryTimeoutMs?: number
}
