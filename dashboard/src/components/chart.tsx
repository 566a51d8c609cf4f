import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export const PALETTE = [
  '#2563eb',
  '#16a34a',
  '#f59e0b',
  '#dc2626',
  '#9333ea',
  '#0891b2',
  '#db2777',
  '#65a30d',
  '#78716c',
]

export interface ChartSeries {
  label: string
  values: (number | null)[]
  color?: string
  /** Fill under the line (opaque: used for stacking). */
  fill?: string
  /** What the legend shows for a point (default: the plotted value). */
  display?: (index: number) => string
}

export interface ChartProps {
  /** Accessible name of the chart (role="img"). */
  title: string
  /** Bucket start times, ISO. */
  x: readonly string[]
  series: ChartSeries[]
  height?: number
  yLabel?: string
  /** Formats y-axis ticks. */
  yFormat?: (v: number) => string
}

/** A uPlot time-series chart that follows its container's width. */
export function Chart({ title, x, series, height = 240, yLabel, yFormat }: ChartProps) {
  const ref = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)

  useEffect(() => {
    const el = ref.current
    if (!el) return
    const data: uPlot.AlignedData = [x.map((t) => Date.parse(t) / 1000), ...series.map((s) => s.values)]
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' } },
        {
          stroke: 'currentColor',
          grid: { stroke: 'rgba(128,128,128,0.15)' },
          label: yLabel,
          size: 72,
          values: yFormat ? (_u, ticks) => ticks.map(yFormat) : undefined,
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? PALETTE[i % PALETTE.length],
          fill: s.fill,
          width: 1.5,
          // Lines only, but a value with no neighbour has no line to draw: a dot for it, or a series
          // whose data fall in one bucket showed an empty chart beside a table with the value.
          points: { show: true, size: 5, filter: isolatedPoints },
          value: s.display
            ? (_u: uPlot, _v: number | null, _si: number, di: number | null) =>
                di == null ? '–' : s.display!(di)
            : undefined,
        })),
      ],
    }
    plot.current?.destroy()
    plot.current = new uPlot(opts, data, el)
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height })
    })
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
  }, [x, series, height, yLabel, yFormat])

  return <div class="chart" ref={ref} role="img" aria-label={title} />
}

/**
 * Stacked areas from per-series counts: each layer is drawn as the running sum, top layer first, opaque, so
 * the one below covers it; the legend shows the layer's own count.
 */
export function stackSeries(layers: { label: string; counts: number[] }[]): ChartSeries[] {
  const sums: number[][] = []
  let prev = layers[0]?.counts.map(() => 0) ?? []
  for (const layer of layers) {
    const cur = layer.counts.map((c, i) => c + prev[i])
    sums.push(cur)
    prev = cur
  }
  return layers
    .map((layer, i) => {
      const color = PALETTE[i % PALETTE.length]
      return {
        label: layer.label,
        values: sums[i],
        color,
        fill: color,
        display: (di: number) => String(layer.counts[di] ?? 0),
      }
    })
    .reverse()
}

/** Indexes of the values of series `si` with no value on either side (drawn as dots). */
function isolatedPoints(u: uPlot, si: number): number[] {
  const ys = u.data[si]
  const out: number[] = []
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] != null && ys[i - 1] == null && ys[i + 1] == null) out.push(i)
  }
  return out
}
