import { useMemo, useState } from 'preact/hooks'
import { apiRequest, type Role } from '../api'
import { ErrorNote, JsonView, Loading, Panel } from '../components/bits'
import { DataTable } from '../components/data-table'
import { fmtInt, fmtTime } from '../format'
import type { FailedEvent, ReplayResult } from '../types'
import { useLoad } from '../use-load'

interface Group {
  key: string
  code: string
  path: string
  count: number
  latest: string
  events: FailedEvent[]
}

const PAGE = 500

/** Groups failed events by (issue code, path); an event with several issues is in several groups. */
export function groupFailed(events: readonly FailedEvent[]): Group[] {
  const groups = new Map<string, Group>()
  for (const event of events) {
    const seen = new Set<string>()
    for (const issue of event.errors) {
      const key = `${issue.code} ${issue.path}`
      if (seen.has(key)) continue
      seen.add(key)
      let g = groups.get(key)
      if (!g) {
        g = { key, code: issue.code, path: issue.path, count: 0, latest: event.receivedAt, events: [] }
        groups.set(key, g)
      }
      g.count++
      if (event.receivedAt > g.latest) g.latest = event.receivedAt
      g.events.push(event)
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
}

export function FailedPage({ role }: { role: Role }) {
  const [showReplayed, setShowReplayed] = useState(false)
  const [extra, setExtra] = useState<{ events: FailedEvent[]; cursor: string | null }>()
  const list = useLoad(async (signal) => {
    setExtra(undefined)
    return apiRequest<{ failedEvents: FailedEvent[]; nextCursor: string | null }>('/api/v1/failed-events', {
      query: { limit: PAGE },
      signal,
    })
  }, [])
  const all = useMemo(
    () => [...(list.data?.failedEvents ?? []), ...(extra?.events ?? [])],
    [list.data, extra],
  )
  const nextCursor = extra ? extra.cursor : (list.data?.nextCursor ?? null)
  const visible = showReplayed ? all : all.filter((e) => e.replayState !== 'replayed')
  const groups = useMemo(() => groupFailed(visible), [visible])
  const [selected, setSelected] = useState<string>()
  const group = groups.find((g) => g.key === selected) ?? groups[0]
  const [replaying, setReplaying] = useState(false)
  const [replay, setReplay] = useState<{ label: string; result: ReplayResult }>()
  const [error, setError] = useState<Error>()

  const loadMore = async () => {
    if (!nextCursor) return
    try {
      const page = await apiRequest<{ failedEvents: FailedEvent[]; nextCursor: string | null }>(
        '/api/v1/failed-events',
        { query: { limit: PAGE, cursor: nextCursor } },
      )
      setExtra((x) => ({ events: [...(x?.events ?? []), ...page.failedEvents], cursor: page.nextCursor }))
    } catch (err) {
      setError(err as Error)
    }
  }
  const runReplay = async (label: string, body: { code?: string }) => {
    setReplaying(true)
    setError(undefined)
    try {
      const result = await apiRequest<ReplayResult>('/api/v1/failed-events/replay', { method: 'POST', body })
      setReplay({ label, result })
      list.reload()
    } catch (err) {
      setError(err as Error)
    } finally {
      setReplaying(false)
    }
  }

  return (
    <>
      <ErrorNote error={list.error ?? error} />
      {replay ? (
        <p class="notice" role="status" data-testid="replay-result">
          Replay of {replay.label}: examined {fmtInt(replay.result.examined)}, replayed{' '}
          {fmtInt(replay.result.replayed)}, duplicates {fmtInt(replay.result.duplicates)}, still failing{' '}
          {fmtInt(replay.result.stillFailing)}.
        </p>
      ) : null}
      <Panel
        title={`Failed events by error (${fmtInt(visible.length)}${nextCursor ? '+' : ''})`}
        actions={
          <div class="actions">
            <Loading loading={list.loading} />
            <label class="check">
              <input
                type="checkbox"
                checked={showReplayed}
                onChange={(e) => setShowReplayed((e.currentTarget as HTMLInputElement).checked)}
              />
              Show replayed
            </label>
            {nextCursor ? (
              <button type="button" onClick={loadMore}>
                Load more
              </button>
            ) : null}
            {role === 'admin' ? (
              <button type="button" disabled={replaying} onClick={() => runReplay('all failed events', {})}>
                Replay all
              </button>
            ) : null}
          </div>
        }
      >
        <DataTable
          caption="Groups of rejected events by error code and path. Select a group to see its events."
          testId="failed-groups"
          columns={[
            { key: 'code', label: 'Code', render: (g) => <code>{g.code}</code> },
            { key: 'path', label: 'Path', render: (g) => <code>{g.path || '(event)'}</code> },
            { key: 'count', label: 'Events', numeric: true, render: (g) => fmtInt(g.count) },
            { key: 'latest', label: 'Latest', render: (g) => fmtTime(g.latest) },
          ]}
          rows={groups}
          rowKey={(g) => g.key}
          selectedKey={group?.key}
          onActivate={(g) => setSelected(g.key)}
          initialSort={{ key: 'count', dir: 'desc' }}
          empty={list.loading ? 'Loading…' : 'No failed events.'}
        />
      </Panel>
      {group ? (
        <Panel
          title={`${group.code} at ${group.path || '(event)'}`}
          actions={
            role === 'admin' ? (
              <button
                type="button"
                class="primary"
                disabled={replaying}
                onClick={() => runReplay(`code ${group.code}`, { code: group.code })}
              >
                Replay events with code {group.code}
              </button>
            ) : (
              <span class="hint">Replay needs an admin key.</span>
            )
          }
        >
          <p class="hint">
            Replay re-validates against the current tracking plan; events that pass are stored, the rest stay
            here.
          </p>
          <ul class="failed-list">
            {group.events.slice(0, 20).map((e) => (
              <li key={e.id}>
                <div class="failed-head">
                  <span>{fmtTime(e.receivedAt)}</span> <span class="badge">{e.replayState}</span>
                </div>
                <ul class="issues">
                  {e.errors.map((issue) => (
                    <li key={`${issue.code}${issue.path}`}>
                      <code>{issue.path || '(event)'}</code> <strong>{issue.code}</strong>: {issue.message}
                    </li>
                  ))}
                </ul>
                <JsonView value={e.payload} label={`Raw payload of failed event ${e.id}`} />
              </li>
            ))}
          </ul>
          {group.events.length > 20 ? <p class="hint">Showing 20 of {fmtInt(group.events.length)}.</p> : null}
        </Panel>
      ) : null}
    </>
  )
}
