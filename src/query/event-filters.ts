import type { Expression, ExpressionBuilder, SqlBool } from 'kysely'
import { AppError } from '../errors/app-error.js'
import type { EventQuery } from '../schema/event-query.js'
import type { Database } from '../store/database.js'
import type { StoreDialect } from '../store/dialect.js'
import { checkPredicate } from './property-path.js'

/** The filter part of an `EventQuery` (what `deleteWhere`-style and export callers share with queries). */
export type EventFilter = Omit<EventQuery, 'order' | 'limit' | 'cursor'>

function toTime(dialect: StoreDialect, value: string, field: string) {
  try {
    return dialect.toDbTime(value)
  } catch (cause) {
    throw new AppError('validation_failed', `${field} is not a date-time`, {
      cause,
      details: [{ path: `/${field}`, keyword: 'format', message: 'not a date-time' }],
    })
  }
}

/**
 * The WHERE clause of an event query: project scope, list and identity filters, time range (`from`
 * inclusive, `to` exclusive) and property predicates. Every value is a bound parameter; predicate paths are
 * re-checked here (`checkPredicate`) before the dialect turns them into JSON SQL.
 */
export function eventFilterExpression(
  eb: ExpressionBuilder<Database, 'events'>,
  dialect: StoreDialect,
  projectId: string,
  filter: EventFilter,
): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [eb('events.project_id', '=', projectId)]
  if (filter.types?.length) parts.push(eb('events.type', 'in', filter.types))
  if (filter.names?.length) parts.push(eb('events.name', 'in', filter.names))
  if (filter.userId !== undefined) parts.push(eb('events.user_id', '=', filter.userId))
  if (filter.anonymousId !== undefined) parts.push(eb('events.anonymous_id', '=', filter.anonymousId))
  if (filter.sessionId !== undefined) parts.push(eb('events.session_id', '=', filter.sessionId))
  if (filter.messageId !== undefined) {
    // Through the index that dedupes by it: on `events` itself (SQLite) or the narrow `event_dedupe`
    // table (PostgreSQL), whose row names the stored event.
    const messageId = filter.messageId
    parts.push(
      dialect.capabilities.dedupeOnEvents
        ? eb('events.message_id', '=', messageId)
        : eb(
            'events.id',
            'in',
            eb
              .selectFrom('event_dedupe')
              .select('event_dedupe.event_id')
              .where('event_dedupe.project_id', '=', projectId)
              .where('event_dedupe.message_id', '=', messageId),
          ),
    )
  }
  if (filter.status?.length) parts.push(eb('events.status', 'in', filter.status))
  assertOrderedRange(filter.from, filter.to)
  if (filter.from !== undefined)
    parts.push(eb('events.timestamp', '>=', toTime(dialect, filter.from, 'from')))
  if (filter.to !== undefined) parts.push(eb('events.timestamp', '<', toTime(dialect, filter.to, 'to')))
  for (const raw of filter.where ?? []) {
    const pred = checkPredicate(raw)
    parts.push(dialect.jsonPredicate(`events.${pred.root}`, pred))
  }
  return eb.and(parts)
}

/**
 * Refuses `to` at or before `from` (`validation_failed`, path `/to`), as every listing and the statistics
 * do: a reversed range is a mistake to report, not an empty answer (failed events and the audit log
 * answered 200 with nothing).
 */
export function assertOrderedRange(from: string | undefined, to: string | undefined): void {
  if (from === undefined || to === undefined || Date.parse(to) > Date.parse(from)) return
  throw new AppError('validation_failed', 'to must be after from', {
    details: [{ path: '/to', keyword: 'range', message: 'to must be after from' }],
  })
}
