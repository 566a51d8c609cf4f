import type { ComponentChildren } from 'preact'
import { useMemo, useState } from 'preact/hooks'

export interface Column<T> {
  key: string
  label: string
  render?: (row: T) => ComponentChildren
  /** Value compared when sorting by this column (default: row[key]). */
  sortValue?: (row: T) => number | string | null
  numeric?: boolean
  sortable?: boolean
}

export interface DataTableProps<T> {
  caption: string
  columns: Column<T>[]
  rows: T[]
  rowKey: (row: T) => string
  /** Enter/Space or click on a row. */
  onActivate?: (row: T) => void
  selectedKey?: string
  initialSort?: { key: string; dir: 'asc' | 'desc' }
  empty?: string
  testId?: string
}

/**
 * A table with sortable headers (buttons, aria-sort) and keyboard navigation: rows are focusable, ↑/↓ move,
 * Home/End jump, Enter or Space activates.
 */
export function DataTable<T>(props: DataTableProps<T>) {
  const { columns, rows, rowKey, onActivate, selectedKey } = props
  const [sort, setSort] = useState(props.initialSort)

  const sorted = useMemo(() => {
    if (!sort) return rows
    const col = columns.find((c) => c.key === sort.key)
    if (!col) return rows
    const value =
      col.sortValue ?? ((r: T) => (r as Record<string, unknown>)[col.key] as number | string | null)
    const sign = sort.dir === 'asc' ? 1 : -1
    return [...rows].sort((a, b) => {
      const va = value(a)
      const vb = value(b)
      if (va == null && vb == null) return 0
      if (va == null) return 1
      if (vb == null) return -1
      return (va < vb ? -1 : va > vb ? 1 : 0) * sign
    })
  }, [rows, columns, sort])

  const toggle = (key: string) =>
    setSort((s) => (s?.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'desc' }))

  const onKeyDown = (e: KeyboardEvent, row: T) => {
    const tr = e.currentTarget as HTMLTableRowElement
    const move = (target: Element | null | undefined) => {
      if (target instanceof HTMLElement) {
        e.preventDefault()
        target.focus()
      }
    }
    if (e.key === 'ArrowDown') move(tr.nextElementSibling)
    else if (e.key === 'ArrowUp') move(tr.previousElementSibling)
    else if (e.key === 'Home') move(tr.parentElement?.firstElementChild)
    else if (e.key === 'End') move(tr.parentElement?.lastElementChild)
    else if ((e.key === 'Enter' || e.key === ' ') && onActivate) {
      e.preventDefault()
      onActivate(row)
    }
  }

  return (
    <div class="table-wrap">
      <table data-testid={props.testId}>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => {
              const active = sort?.key === c.key
              const ariaSort = active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : undefined
              return (
                <th key={c.key} scope="col" class={c.numeric ? 'num' : undefined} aria-sort={ariaSort}>
                  {c.sortable === false ? (
                    c.label
                  ) : (
                    <button type="button" class="sort" onClick={() => toggle(c.key)}>
                      {c.label}
                      <span aria-hidden="true">{active ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                    </button>
                  )}
                </th>
              )
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="empty">
                {props.empty ?? 'Nothing in this range.'}
              </td>
            </tr>
          ) : (
            sorted.map((row) => {
              const key = rowKey(row)
              return (
                <tr
                  key={key}
                  tabIndex={0}
                  class={key === selectedKey ? 'selected' : undefined}
                  aria-selected={onActivate ? key === selectedKey : undefined}
                  onClick={onActivate ? () => onActivate(row) : undefined}
                  onKeyDown={(e) => onKeyDown(e, row)}
                >
                  {columns.map((c) => (
                    <td key={c.key} class={c.numeric ? 'num' : undefined}>
                      {c.render ? c.render(row) : String((row as Record<string, unknown>)[c.key] ?? '–')}
                    </td>
                  ))}
                </tr>
              )
            })
          )}
        </tbody>
      </table>
    </div>
  )
}
