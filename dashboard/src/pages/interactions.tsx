import { apiRequest } from '../api'
import { ErrorNote, Loading, Panel } from '../components/bits'
import { DataTable } from '../components/data-table'
import { fmtInt } from '../format'
import type { ResolvedRange } from '../range'
import type { InteractionsResult } from '../types'
import { useLoad } from '../use-load'

const TITLES: Record<string, string> = { click: 'Top clicked targets', submit: 'Top submitted forms' }

export function InteractionsPage({ range }: { range: ResolvedRange }) {
  const result = useLoad(
    (signal) =>
      apiRequest<InteractionsResult>('/api/v1/stats/interactions', {
        query: { from: range.from, to: range.to, limit: 20 },
        signal,
      }),
    [range],
  )
  // Clicks and submits first, then any other action (change, scroll, view, …).
  const actions = [...(result.data?.actions ?? [])].sort(
    (a, b) =>
      (a.action === 'click' ? 0 : a.action === 'submit' ? 1 : 2) -
        (b.action === 'click' ? 0 : b.action === 'submit' ? 1 : 2) || b.count - a.count,
  )
  return (
    <>
      <ErrorNote error={result.error} />
      <Loading loading={result.loading} />
      {result.data && actions.length === 0 ? <p class="empty">No interactions in this range.</p> : null}
      <div class="grid-2">
        {actions.map((a) => (
          <Panel
            key={a.action}
            title={`${TITLES[a.action] ?? `Top targets: ${a.action}`} (${fmtInt(a.count)})`}
          >
            <DataTable
              caption={`${a.action}: targets by count`}
              testId={`interactions-${a.action}`}
              columns={[
                { key: 'target', label: 'Target', render: (t) => <code>{t.target || '(unknown)'}</code> },
                { key: 'count', label: 'Count', numeric: true, render: (t) => fmtInt(t.count) },
                {
                  key: 'users',
                  label: 'Users',
                  numeric: true,
                  sortValue: (t) => t.uniqueUsers.value,
                  render: (t) => `${t.uniqueUsers.exact ? '' : '≈'}${fmtInt(t.uniqueUsers.value)}`,
                },
              ]}
              rows={a.targets}
              rowKey={(t) => t.target}
              initialSort={{ key: 'count', dir: 'desc' }}
            />
          </Panel>
        ))}
      </div>
    </>
  )
}
