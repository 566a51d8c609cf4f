import { useMemo, useState } from 'preact/hooks'
import { apiRequest } from '../api'
import { ErrorNote, Loading, Panel } from '../components/bits'
import { Chart } from '../components/chart'
import { DataTable } from '../components/data-table'
import { fmtAxis, fmtInt, fmtPct, fmtValue } from '../format'
import { bucketCount, DAY_MS, mapLimit, type ResolvedRange, splitRange } from '../range'
import type { PerformanceResult, PerformanceRow } from '../types'
import { useLoad } from '../use-load'
import { rate, THRESHOLDS, unitOf } from '../vitals'

const ORDER = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'FID']

function Shares({ row }: { row: PerformanceRow }) {
  const rated = row.ratings.good + row.ratings.needsImprovement + row.ratings.poor
  if (rated === 0) return <span>–</span>
  const parts = [
    { cls: 'good', label: 'good', n: row.ratings.good },
    { cls: 'ni', label: 'needs improvement', n: row.ratings.needsImprovement },
    { cls: 'poor', label: 'poor', n: row.ratings.poor },
  ]
  const text = parts.map((p) => `${fmtPct(p.n / rated)} ${p.label}`).join(', ')
  return (
    <div class="shares" role="img" aria-label={text} title={text}>
      {parts.map((p) => (
        <span key={p.cls} class={`share ${p.cls}`} style={{ flexGrow: p.n }}>
          {p.n / rated >= 0.12 ? fmtPct(p.n / rated) : ''}
        </span>
      ))}
    </div>
  )
}

function RatingBadge({ metric, value }: { metric: string; value: number | null }) {
  const r = rate(metric, value)
  if (!r) return <>{fmtValue(value, unitOf(metric))}</>
  return (
    <span class={`badge ${r === 'needs-improvement' ? 'ni' : r}`}>
      {fmtValue(value, unitOf(metric))} <span class="sr-only">({r})</span>
    </span>
  )
}

export function PerformancePage({ range }: { range: ResolvedRange }) {
  const summary = useLoad(
    (signal) =>
      apiRequest<PerformanceResult>('/api/v1/stats/performance', {
        query: { from: range.from, to: range.to },
        signal,
      }),
    [range],
  )
  const metrics = useMemo(() => {
    const rows = summary.data?.metrics ?? []
    return [...rows].sort((a, b) => {
      const ia = ORDER.indexOf(a.metric)
      const ib = ORDER.indexOf(b.metric)
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.metric.localeCompare(b.metric)
    })
  }, [summary.data])
  const [chosen, setChosen] = useState<string>()
  const metric = chosen && metrics.some((m) => m.metric === chosen) ? chosen : metrics[0]?.metric
  // Until the summary answers, fetch the worst pages for the metric it will most likely default to.
  const pagesMetric = summary.data ? metric : (chosen ?? 'LCP')

  // Every metric per sub-range in one pass (answers carry all metrics), started with the summary rather
  // than after it; switching metric then needs no new calls.
  const perBucket = useLoad(
    async (signal) => {
      const parts = splitRange(range, bucketCount(range))
      const answers = await mapLimit(parts, 6, (part) =>
        apiRequest<PerformanceResult>('/api/v1/stats/performance', {
          query: { from: part.from, to: part.to },
          signal,
        }),
      )
      return { x: parts.map((p) => p.from), answers }
    },
    [range],
  )
  const overTime = useMemo(() => {
    const d = perBucket.data
    if (!d || !metric) return undefined
    const row = (i: number) => d.answers[i].metrics.find((m) => m.metric === metric)
    return {
      x: d.x,
      p50: d.answers.map((_, i) => row(i)?.p50 ?? null),
      p75: d.answers.map((_, i) => row(i)?.p75 ?? null),
      p95: d.answers.map((_, i) => row(i)?.p95 ?? null),
    }
  }, [perBucket.data, metric])
  // Per-page percentiles scan raw events, which the API allows over at most 7 days: the last 7 days of the range.
  const pagesFrom = new Date(
    Math.max(Date.parse(range.from), Date.parse(range.to) - 7 * DAY_MS),
  ).toISOString()
  const pages = useLoad(
    async (signal) =>
      pagesMetric
        ? apiRequest<PerformanceResult>('/api/v1/stats/performance', {
            query: {
              from: pagesFrom,
              to: range.to,
              metrics: [pagesMetric],
              groupBy: 'path',
              limitGroups: 50,
            },
            signal,
          })
        : undefined,
    [range, pagesMetric],
  )
  const unit = metric ? unitOf(metric) : 'ms'
  const yFormat = useMemo(() => (v: number) => fmtAxis(v, unit), [unit])
  const chartSeries = useMemo(
    () =>
      overTime
        ? [
            { label: 'p50', values: overTime.p50, color: '#16a34a' },
            { label: 'p75', values: overTime.p75, color: '#2563eb' },
            { label: 'p95', values: overTime.p95, color: '#dc2626' },
          ]
        : [],
    [overTime],
  )
  const t = metric ? THRESHOLDS[metric] : undefined

  return (
    <>
      <ErrorNote error={summary.error ?? perBucket.error ?? pages.error} />
      <Panel title="Web vitals (p75 and rating shares)" actions={<Loading loading={summary.loading} />}>
        <DataTable
          caption="Per metric: p75, the share of good / needs-improvement / poor samples, and other percentiles. Select a row to chart it."
          testId="vitals"
          columns={[
            { key: 'metric', label: 'Metric' },
            { key: 'count', label: 'Samples', numeric: true, render: (r) => fmtInt(r.count) },
            {
              key: 'p75',
              label: 'p75',
              numeric: true,
              render: (r) => <RatingBadge metric={r.metric} value={r.p75} />,
            },
            {
              key: 'shares',
              label: 'Good / NI / Poor',
              sortValue: (r) => r.ratings.good / Math.max(1, r.count - r.ratings.unrated),
              render: (r) => <Shares row={r} />,
            },
            { key: 'p50', label: 'p50', numeric: true, render: (r) => fmtValue(r.p50, unitOf(r.metric)) },
            { key: 'p95', label: 'p95', numeric: true, render: (r) => fmtValue(r.p95, unitOf(r.metric)) },
          ]}
          rows={metrics}
          rowKey={(r) => r.metric}
          selectedKey={metric}
          onActivate={(r) => setChosen(r.metric)}
          empty="No performance events in this range."
        />
        <p class="hint">
          Ratings follow web.dev: LCP ≤ 2.5 s good, &gt; 4 s poor; INP ≤ 200 ms / &gt; 500 ms; CLS ≤ 0.1 /
          &gt; 0.25; FCP ≤ 1.8 s / &gt; 3 s; TTFB ≤ 800 ms / &gt; 1.8 s.
        </p>
      </Panel>
      {metric ? (
        <Panel
          title={`${metric} percentiles over time`}
          actions={
            <label>
              Metric{' '}
              <select
                value={metric}
                onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}
              >
                {metrics.map((m) => (
                  <option key={m.metric} value={m.metric}>
                    {m.metric}
                  </option>
                ))}
              </select>
            </label>
          }
        >
          {overTime ? (
            <Chart
              title={`${metric} p50, p75 and p95 over time`}
              x={overTime.x}
              series={chartSeries}
              yFormat={yFormat}
            />
          ) : (
            <div class="chart-placeholder" />
          )}
          {t ? (
            <p class="hint">
              Good ≤ {fmtValue(t.good, t.unit)}, poor &gt; {fmtValue(t.poor, t.unit)}.
            </p>
          ) : null}
        </Panel>
      ) : null}
      {metric ? (
        <Panel title={`Worst pages by ${metric} p75`} actions={<Loading loading={pages.loading} />}>
          <DataTable
            caption={`Pages by p75 of ${metric}${pagesFrom !== range.from ? ' (last 7 days of the range)' : ''}`}
            testId="worst-pages"
            columns={[
              { key: 'group', label: 'Page', render: (r) => r.group ?? '(no path)' },
              { key: 'count', label: 'Samples', numeric: true, render: (r) => fmtInt(r.count) },
              {
                key: 'p75',
                label: 'p75',
                numeric: true,
                render: (r) => <RatingBadge metric={r.metric} value={r.p75} />,
              },
              {
                key: 'poor',
                label: 'Poor',
                numeric: true,
                sortValue: (r) => r.ratings.poor / Math.max(1, r.count),
                render: (r) => fmtPct(r.ratings.poor / Math.max(1, r.count)),
              },
            ]}
            rows={pages.data?.metrics ?? []}
            rowKey={(r) => `${r.metric}:${r.group}`}
            initialSort={{ key: 'p75', dir: 'desc' }}
          />
        </Panel>
      ) : null}
    </>
  )
}
