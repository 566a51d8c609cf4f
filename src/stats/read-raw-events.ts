import type { Kysely } from 'kysely'
import type { Database } from '../store/database.js'
import type { StoreDialect } from '../store/dialect.js'
import type { RollupInput } from './rollups/aggregate-events.js'

/** A half-open time range [from, to) in epoch milliseconds. */
export type MsRange = readonly [from: number, to: number]

export interface ReadRawOptions {
  /** Only these event types. */
  types?: readonly string[]
  /** Read `properties` (needed for performance, API and interaction rollups). Default true. */
  withProperties?: boolean
  /**
   * Ranges read by one query (an OR of them), for many small ranges: on PostgreSQL an OR of index ranges
   * is one scan instead of a round trip each. Default 1. Leave it at 1 on SQLite, which answers such an OR
   * by reading every row of the project (get-timeseries.ts).
   */
  rangesPerQuery?: number
}

/** The events columns a rollup reads, as selected (`ts` is the timestamp in epoch ms). */
export interface RollupRow {
  type: string
  name: string | null
  ts: number | string
  user_id: string | null
  anonymous_id: string | null
  session_id: string | null
}

/** A selected row as a rollup input; `properties` already decoded (or null when not read). */
export function toRollupInput(
  projectId: string,
  r: RollupRow,
  properties: Record<string, unknown> | null,
): RollupInput {
  return {
    projectId,
    type: r.type,
    name: r.name,
    timestamp: Number(r.ts),
    userId: r.user_id,
    anonymousId: r.anonymous_id,
    sessionId: r.session_id,
    properties,
  }
}

/**
 * Reads the events of `projectId` in `ranges` as rollup inputs — the raw side of a statistic: a query's
 * partial edge hours, or a rollup rebuild. Uses the `(project_id, timestamp, id)` index.
 */
export async function readRollupInputs(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  ranges: readonly MsRange[],
  options: ReadRawOptions = {},
): Promise<RollupInput[]> {
  const out: RollupInput[] = []
  const withProperties = options.withProperties ?? true
  const nonEmpty = ranges.filter(([from, to]) => to > from)
  const perQuery = Math.max(1, options.rangesPerQuery ?? 1)
  for (let i = 0; i < nonEmpty.length; i += perQuery) {
    const part = nonEmpty.slice(i, i + perQuery)
    let q = db
      .selectFrom('events')
      .select([
        'type',
        'name',
        'user_id',
        'anonymous_id',
        'session_id',
        dialect.epochMs('events.timestamp').as('ts'),
      ])
      .where('project_id', '=', projectId)
      .where((eb) =>
        eb.or(
          part.map(([from, to]) =>
            eb.and([
              eb('timestamp', '>=', dialect.toDbTime(from)),
              eb('timestamp', '<', dialect.toDbTime(to)),
            ]),
          ),
        ),
      )
    if (options.types && options.types.length > 0) q = q.where('type', 'in', options.types as string[])
    const rows = await (withProperties ? q.select('properties') : q).execute()
    for (const r of rows) {
      const props = withProperties
        ? (dialect.fromDbJson((r as { properties?: unknown }).properties) as Record<string, unknown>)
        : null
      out.push(toRollupInput(projectId, r, props))
    }
  }
  return out
}
