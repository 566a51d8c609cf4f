import { useState } from 'preact/hooks'
import { ApiError, apiFetch, apiRequest, type QueryValue } from '../api'
import { ErrorNote, JsonView, Loading, Panel } from '../components/bits'
import { DataTable } from '../components/data-table'
import { fmtTime } from '../format'
import { fromLocalInput } from '../range'
import { EVENT_TYPES, type EventPage, type StoredEvent } from '../types'
import { useLoad } from '../use-load'

const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'exists'] as const
type Op = (typeof OPS)[number]

interface Predicate {
  path: string
  op: Op
  value: string
}

export interface EventFilter {
  types: string[]
  names: string
  userId: string
  anonymousId: string
  sessionId: string
  from: string
  to: string
  where: Predicate[]
  limit: number
}

const EMPTY: EventFilter = {
  types: [],
  names: '',
  userId: '',
  anonymousId: '',
  sessionId: '',
  from: '',
  to: '',
  where: [],
  limit: 50,
}

/** A typed scalar from a text box: numbers, true/false/null as such; "quoted" forces a string. */
function parseScalar(text: string): string | number | boolean | null {
  const t = text.trim()
  if (/^".*"$/.test(t)) return t.slice(1, -1)
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(t)) return Number(t)
  if (t === 'true' || t === 'false') return t === 'true'
  if (t === 'null') return null
  return t
}

/** The EventQuery query string for a filter (docs/api.md: lists repeated, `where` as JSON). */
export function filterQuery(f: EventFilter): Record<string, QueryValue> {
  const where = f.where
    .filter((p) => p.path.trim())
    .map((p) => {
      const path = p.path.trim()
      if (p.op === 'exists') return { path, op: p.op, value: p.value.trim() !== 'false' }
      if (p.op === 'in') return { path, op: p.op, value: p.value.split(',').map((v) => parseScalar(v)) }
      return { path, op: p.op, value: parseScalar(p.value) }
    })
  return {
    types: f.types,
    names: f.names
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
    userId: f.userId.trim(),
    anonymousId: f.anonymousId.trim(),
    sessionId: f.sessionId.trim(),
    from: fromLocalInput(f.from),
    to: fromLocalInput(f.to),
    where: where.length ? JSON.stringify(where) : undefined,
  }
}

async function download(format: 'ndjson' | 'csv', filter: EventFilter): Promise<void> {
  const response = await apiFetch('/api/v1/events/export', { query: { ...filterQuery(filter), format } })
  const blob = await response.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = `tally-events.${format}`
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

function FilterForm({ initial, onApply }: { initial: EventFilter; onApply: (f: EventFilter) => void }) {
  const [f, setF] = useState(initial)
  const set = <K extends keyof EventFilter>(key: K, value: EventFilter[K]) =>
    setF((s) => ({ ...s, [key]: value }))
  const text = (
    key: 'names' | 'userId' | 'anonymousId' | 'sessionId',
    label: string,
    placeholder?: string,
  ) => (
    <label>
      {label}
      <input
        type="text"
        name={key}
        value={f[key]}
        placeholder={placeholder}
        onInput={(e) => set(key, (e.currentTarget as HTMLInputElement).value)}
      />
    </label>
  )
  const setPredicate = (i: number, patch: Partial<Predicate>) =>
    set(
      'where',
      f.where.map((p, j) => (j === i ? { ...p, ...patch } : p)),
    )
  return (
    <form
      class="filters"
      aria-label="Event filters"
      onSubmit={(e) => {
        e.preventDefault()
        onApply(f)
      }}
    >
      <fieldset class="types">
        <legend>Types</legend>
        {EVENT_TYPES.map((t) => (
          <label key={t} class="check">
            <input
              type="checkbox"
              name="types"
              value={t}
              checked={f.types.includes(t)}
              onChange={(e) =>
                set(
                  'types',
                  (e.currentTarget as HTMLInputElement).checked
                    ? [...f.types, t]
                    : f.types.filter((x) => x !== t),
                )
              }
            />
            {t}
          </label>
        ))}
      </fieldset>
      <div class="filter-fields">
        {text('names', 'Names', 'comma-separated')}
        {text('userId', 'User id')}
        {text('anonymousId', 'Anonymous id')}
        {text('sessionId', 'Session id')}
        <label>
          From
          <input
            type="datetime-local"
            value={f.from}
            onInput={(e) => set('from', (e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          To
          <input
            type="datetime-local"
            value={f.to}
            onInput={(e) => set('to', (e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          Page size
          <select
            value={String(f.limit)}
            onChange={(e) => set('limit', Number((e.currentTarget as HTMLSelectElement).value))}
          >
            {[25, 50, 100, 250].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </div>
      <fieldset class="predicates">
        <legend>Property predicates</legend>
        {f.where.map((p, i) => (
          <div class="predicate" key={i}>
            <label>
              Path
              <input
                type="text"
                value={p.path}
                placeholder="properties.total"
                onInput={(e) => setPredicate(i, { path: (e.currentTarget as HTMLInputElement).value })}
              />
            </label>
            <label>
              Operator
              <select
                value={p.op}
                onChange={(e) => setPredicate(i, { op: (e.currentTarget as HTMLSelectElement).value as Op })}
              >
                {OPS.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Value
              <input
                type="text"
                value={p.value}
                placeholder={p.op === 'in' ? 'a, b, 3' : p.op === 'exists' ? 'true' : '42 or text'}
                onInput={(e) => setPredicate(i, { value: (e.currentTarget as HTMLInputElement).value })}
              />
            </label>
            <button
              type="button"
              onClick={() =>
                set(
                  'where',
                  f.where.filter((_, j) => j !== i),
                )
              }
              aria-label={`Remove predicate ${i + 1}`}
            >
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => set('where', [...f.where, { path: '', op: 'eq', value: '' }])}>
          Add predicate
        </button>
      </fieldset>
      <div class="actions">
        <button type="submit" class="primary">
          Apply filters
        </button>
        <button
          type="button"
          onClick={() => {
            setF(EMPTY)
            onApply(EMPTY)
          }}
        >
          Clear
        </button>
      </div>
    </form>
  )
}

function EventDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const event = useLoad(
    (signal) => apiRequest<StoredEvent>(`/api/v1/events/${encodeURIComponent(id)}`, { signal }),
    [id],
  )
  return (
    <Panel
      title="Event"
      actions={
        <button type="button" onClick={onClose}>
          Close
        </button>
      }
    >
      <ErrorNote error={event.error} />
      {event.data ? <JsonView value={event.data} label={`Event ${id} as JSON`} /> : <Loading loading />}
    </Panel>
  )
}

export function EventsPage() {
  const [filter, setFilter] = useState<EventFilter>(EMPTY)
  // Keyset paging: the cursors that started each page so far (undefined: the first page).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined])
  const [selected, setSelected] = useState<string>()
  const [exportError, setExportError] = useState<Error>()
  const cursor = cursors[cursors.length - 1]
  const page = useLoad(
    (signal) =>
      apiRequest<EventPage>('/api/v1/events', {
        query: { ...filterQuery(filter), limit: filter.limit, cursor },
        signal,
      }),
    [filter, cursor],
  )
  const apply = (f: EventFilter) => {
    setFilter(f)
    setCursors([undefined])
    setSelected(undefined)
  }
  const exportAs = (format: 'ndjson' | 'csv') => {
    setExportError(undefined)
    download(format, filter).catch((err: Error) =>
      setExportError(err instanceof ApiError ? err : new Error(String(err))),
    )
  }

  return (
    <>
      <Panel title="Filter">
        <FilterForm initial={filter} onApply={apply} />
      </Panel>
      <ErrorNote error={page.error ?? exportError} />
      <div class={selected ? 'explorer with-detail' : 'explorer'}>
        <Panel
          title={`Events — page ${cursors.length}`}
          actions={
            <div class="actions">
              <Loading loading={page.loading} />
              <button type="button" onClick={() => exportAs('ndjson')}>
                Export NDJSON
              </button>
              <button type="button" onClick={() => exportAs('csv')}>
                Export CSV
              </button>
            </div>
          }
        >
          <DataTable
            caption="Matching events, newest first. Select a row to see its full JSON."
            testId="events"
            columns={[
              { key: 'timestamp', label: 'Time', sortable: false, render: (e) => fmtTime(e.timestamp) },
              { key: 'type', label: 'Type', sortable: false },
              { key: 'name', label: 'Name', sortable: false, render: (e) => e.name ?? '–' },
              {
                key: 'userId',
                label: 'User',
                sortable: false,
                render: (e) => e.userId ?? e.anonymousId ?? '–',
              },
              { key: 'sessionId', label: 'Session', sortable: false, render: (e) => e.sessionId ?? '–' },
            ]}
            rows={page.data?.events ?? []}
            rowKey={(e) => e.id}
            selectedKey={selected}
            onActivate={(e) => setSelected(e.id)}
            empty={page.loading ? 'Loading…' : 'No events match.'}
          />
          <nav class="pager" aria-label="Pages">
            <button
              type="button"
              disabled={cursors.length <= 1}
              onClick={() => setCursors((c) => c.slice(0, -1))}
            >
              ← Previous
            </button>
            <span>Page {cursors.length}</span>
            <button
              type="button"
              disabled={!page.data?.nextCursor || page.loading}
              onClick={() => page.data?.nextCursor && setCursors((c) => [...c, page.data!.nextCursor!])}
            >
              Next →
            </button>
          </nav>
        </Panel>
        {selected ? <EventDetail id={selected} onClose={() => setSelected(undefined)} /> : null}
      </div>
    </>
  )
}
