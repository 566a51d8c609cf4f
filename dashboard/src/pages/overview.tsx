import { apiRequest } from '../api'
import { ErrorNote, Panel, Stat } from '../components/bits'
import { Chart, stackSeries } from '../components/chart'
import { DataTable } from '../components/data-table'
import { fmtInt } from '../format'
import type { ResolvedRange } from '../range'
import { navigate } from '../router'
import type { OverviewResult, TimeseriesResult } from '../types'
import { useLoad } from '../use-load'

const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone

export function OverviewPage({ range }: { range: ResolvedRange }) {
  const overview = useLoad(
    (signal) =>
      apiRequest<OverviewResult>('/api/v1/stats/overview', {
        query: { from: range.from, to: range.to, topNames: 10 },
        signal,
      }),
    [range],
  )
  const series = useLoad(
    (signal) =>
      apiRequest<TimeseriesResult>('/api/v1/stats/timeseries', {
        query: { from: range.from, to: range.to, unit: range.unit, groupBy: 'type', timeZone: TIME_ZONE },
        signal,
      }),
    [range],
  )
  const o = overview.data
  const ts = series.data
  const approx = (u: { exact: boolean }) => (u.exact ? undefined : 'estimate (±1.6%)')

  return (
    <>
      <ErrorNote error={overview.error ?? series.error} />
      <div class="stats" data-testid="overview-stats">
        <Stat label="Events" value={fmtInt(o?.total)} />
        <Stat label="Unique users" value={fmtInt(o?.uniqueUsers.value)} hint={o && approx(o.uniqueUsers)} />
        <Stat label="Sessions" value={fmtInt(o?.uniqueSessions.value)} hint={o && approx(o.uniqueSessions)} />
        <Stat
          label="Failed events"
          value={
            <a
              href="/failed"
              onClick={(e) => {
                e.preventDefault()
                navigate('/failed')
              }}
            >
              {fmtInt(o?.failedEvents)}
            </a>
          }
        />
      </div>
      <Panel title={`Events over time, by type (per ${range.unit})`}>
        {ts ? (
          <Chart
            title="Events over time, stacked by type"
            x={ts.buckets}
            series={stackSeries(ts.series.map((s) => ({ label: s.key ?? '(none)', counts: s.counts })))}
          />
        ) : (
          <div class="chart-placeholder" />
        )}
      </Panel>
      <div class="grid-2">
        <Panel title="By type">
          <DataTable
            caption="Events by type"
            testId="by-type"
            columns={[
              { key: 'type', label: 'Type' },
              { key: 'count', label: 'Events', numeric: true, render: (r) => fmtInt(r.count) },
            ]}
            rows={o?.byType ?? []}
            rowKey={(r) => r.type}
            initialSort={{ key: 'count', dir: 'desc' }}
          />
        </Panel>
        <Panel title="Top event names">
          <DataTable
            caption="Top event names"
            testId="top-names"
            columns={[
              { key: 'name', label: 'Name', render: (r) => r.name ?? '(none)' },
              { key: 'type', label: 'Type' },
              { key: 'count', label: 'Events', numeric: true, render: (r) => fmtInt(r.count) },
            ]}
            rows={o?.topNames ?? []}
            rowKey={(r) => `${r.type}:${r.name}`}
            initialSort={{ key: 'count', dir: 'desc' }}
          />
        </Panel>
      </div>
    </>
  )
}
