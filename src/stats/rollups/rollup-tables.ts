/**
 * The rollup tables the statistics stage owns (migration `0002-rollups`). Every row is keyed by
 * `(project_id, hour, …)` where `hour` is whole hours since 1970-01-01T00:00Z (`floor(epochMs / 3.6e6)`),
 * and holds counts that add up, plus mergeable sketches (bytes) where a sum is not enough. Narrow on
 * purpose: a 10M-event, 70-day project keeps ~100k count rows, which a range query reads in milliseconds.
 * Use with `db.withTables<StatsTables>()`.
 */
export type StatsTables = {
  /** Events per type and name (`''` stands for a null name). */
  stats_counts: { project_id: string; hour: number; type: string; name: string; count: number }
  /** HyperLogLog sketches of user ids (`userId ?? anonymousId`) and session ids seen in the hour. */
  stats_uniques: { project_id: string; hour: number; users: Uint8Array; sessions: Uint8Array }
  /** Per performance metric: count, rating counts and a log-scale histogram of `properties.value`. */
  stats_performance: {
    project_id: string
    hour: number
    metric: string
    count: number
    good: number
    needs_improvement: number
    poor: number
    hist: Uint8Array
  }
  /** Per API method + route: count, 4xx and 5xx counts and a log-scale histogram of `durationMs`. */
  stats_api: {
    project_id: string
    hour: number
    method: string
    route: string
    count: number
    status_4xx: number
    status_5xx: number
    hist: Uint8Array
  }
  /** Per interaction action + target: count and a HyperLogLog of the users who interacted. */
  stats_interactions: {
    project_id: string
    hour: number
    action: string
    target: string
    count: number
    users: Uint8Array
  }
}

export type StatsTableName = keyof StatsTables
export const STATS_TABLES = [
  'stats_counts',
  'stats_uniques',
  'stats_performance',
  'stats_api',
  'stats_interactions',
] as const satisfies readonly StatsTableName[]
