import { useMemo, useState } from 'preact/hooks'
import { apiRequest } from '../api'
import { ErrorNote, Loading, Panel } from '../components/bits'
import { Chart } from '../components/chart'
import { DataTable } from '../components/data-table'
import { fmtAxis, fmtInt, fmtPct, fmtValue } from '../format'
import { bucketCount, mapLimit, type ResolvedRange, splitRange } from '../range'
import type { ApiRequestsResult, ApiRouteRow } from '../types'
import { useLoad } from '../use-load'

const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone
const keyOf = (r: ApiRouteRow) => `${r.method} ${r.route}`
const msFormat = (v: number) => fmtAxis(v)

export function ApiRequestsPage({ range }: { range: ResolvedRange }) {
  const summary = useLoad(
    (signal) =>
      apiRequest<ApiRequestsResult>('/api/v1/stats/api-requests', {
        query: {
          from: range.from,
          to: range.to,
          unit: range.unit === 'day' ? 'day' : 'hour',
          timeZone: TIME_ZONE,
          limit: 500,
        },
        signal,
      }),
    [range],
  )
  const routes = summary.data?.routes ?? []
  const [chosen, setChosen] = useState<string>()
  const selected = routes.find((r) => keyOf(r) === chosen) ?? [...routes].sort((a, b) => b.count - a.count)[0]
  const selectedKey = selected ? keyOf(selected) : undefined

  // Latency over time: the statistic per sub-range (rollups answer any range); each answer carries every
  // route, so this runs alongside the summary and picking another route needs no new calls.
  const perBucket = useLoad(
    async (signal) => {
      const parts = splitRange(range, bucketCount(range))
      const answers = await mapLimit(parts, 6, (part) =>
        apiRequest<ApiRequestsResult>('/api/v1/stats/api-requests', {
          query: { from: part.from, to: part.to, limit: 500 },
          signal,
        }),
      )
      return { x: parts.map((p) => p.from), answers }
    },
    [range],
  )
  const overTime = useMemo(() => {
    const d = perBucket.data
    if (!d || !selected) return undefined
    const pick = (i: number) =>
      d.answers[i].routes.find((r) => r.method === selected.method && r.route === selected.route)
    return {
      x: d.x,
      series: (['p50', 'p95', 'p99'] as const).map((q, qi) => ({
        label: q,
        values: d.answers.map((_, i) => pick(i)?.[q] ?? null),
        color: ['#16a34a', '#f59e0b', '#dc2626'][qi],
      })),
    }
  }, [perBucket.data, selected?.method, selected?.route])
  const throughput = useMemo(() => {
    const t = summary.data?.throughput
    return t ? { x: t.buckets, series: [{ label: 'requests', values: t.counts }] } : undefined
  }, [summary.data])

  return (
    <>
      <ErrorNote error={summary.error ?? perBucket.error} />
      <Panel title="Routes" actions={<Loading loading={summary.loading} />}>
        <DataTable
          caption="API routes: request count, error rates and latency percentiles. Select a row to chart its latency."
          testId="routes"
          columns={[
            { key: 'method', label: 'Method' },
            { key: 'route', label: 'Route' },
            { key: 'count', label: 'Requests', numeric: true, render: (r) => fmtInt(r.count) },
            {
              key: 'errors',
              label: 'Error rate',
              numeric: true,
              sortValue: (r) => r.rate4xx + r.rate5xx,
              render: (r) => fmtPct(r.rate4xx + r.rate5xx),
            },
            { key: 'rate5xx', label: '5xx', numeric: true, render: (r) => fmtPct(r.rate5xx) },
            { key: 'p50', label: 'p50', numeric: true, render: (r) => fmtValue(r.p50) },
            { key: 'p95', label: 'p95', numeric: true, render: (r) => fmtValue(r.p95) },
            { key: 'p99', label: 'p99', numeric: true, render: (r) => fmtValue(r.p99) },
          ]}
          rows={routes}
          rowKey={keyOf}
          selectedKey={selectedKey}
          onActivate={(r) => setChosen(keyOf(r))}
          initialSort={{ key: 'count', dir: 'desc' }}
          empty="No API requests in this range."
        />
      </Panel>
      {selected ? (
        <Panel title={`Latency over time: ${selectedKey}`} actions={<Loading loading={perBucket.loading} />}>
          {overTime ? (
            <Chart
              title={`Latency percentiles of ${selectedKey} over time`}
              x={overTime.x}
              series={overTime.series}
              yFormat={msFormat}
            />
          ) : (
            <div class="chart-placeholder" />
          )}
        </Panel>
      ) : null}
      {throughput ? (
        <Panel title="Requests over time (all routes)">
          <Chart
            title="API requests per bucket, all routes"
            x={throughput.x}
            series={throughput.series}
            height={180}
          />
        </Panel>
      ) : null}
    </>
  )
}
