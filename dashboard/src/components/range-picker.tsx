import { useEffect } from 'preact/hooks'
import { fromLocalInput, PRESETS, type RangeSpec, toLocalInput } from '../range'

export interface RangePickerProps {
  value: RangeSpec
  onChange: (spec: RangeSpec) => void
  refreshMs: number
  onRefreshMsChange: (ms: number) => void
  onRefresh: () => void
}

const REFRESH_CHOICES = [
  { ms: 0, label: 'Off' },
  { ms: 15_000, label: '15 s' },
  { ms: 60_000, label: '1 min' },
  { ms: 300_000, label: '5 min' },
]

/** Range presets, a custom from/to, and auto-refresh (which re-reads "now" for preset ranges). */
export function RangePicker({ value, onChange, refreshMs, onRefreshMsChange, onRefresh }: RangePickerProps) {
  useEffect(() => {
    if (!refreshMs) return
    const id = setInterval(onRefresh, refreshMs)
    return () => clearInterval(id)
  }, [refreshMs, onRefresh])

  return (
    <form class="range-picker" onSubmit={(e) => e.preventDefault()} aria-label="Time range">
      <label>
        Range
        <select
          value={value.preset}
          onChange={(e) => {
            const preset = (e.currentTarget as HTMLSelectElement).value as RangeSpec['preset']
            if (preset !== 'custom') return onChange({ preset })
            const to = new Date()
            const from = new Date(to.getTime() - 86_400_000)
            onChange({ preset, from: from.toISOString(), to: to.toISOString() })
          }}
        >
          {PRESETS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {value.preset === 'custom' ? (
        <>
          <label>
            From
            <input
              type="datetime-local"
              value={toLocalInput(value.from)}
              onChange={(e) => {
                const from = fromLocalInput((e.currentTarget as HTMLInputElement).value)
                if (from) onChange({ ...value, from })
              }}
            />
          </label>
          <label>
            To
            <input
              type="datetime-local"
              value={toLocalInput(value.to)}
              onChange={(e) => {
                const to = fromLocalInput((e.currentTarget as HTMLInputElement).value)
                if (to) onChange({ ...value, to })
              }}
            />
          </label>
        </>
      ) : null}
      <label>
        Auto-refresh
        <select
          value={String(refreshMs)}
          onChange={(e) => onRefreshMsChange(Number((e.currentTarget as HTMLSelectElement).value))}
        >
          {REFRESH_CHOICES.map((c) => (
            <option key={c.ms} value={String(c.ms)}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <button type="button" onClick={onRefresh}>
        Refresh
      </button>
    </form>
  )
}
