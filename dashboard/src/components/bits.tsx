import type { ComponentChildren } from 'preact'
import { ApiError } from '../api'

/** A headline number. */
export function Stat({ label, value, hint }: { label: string; value: ComponentChildren; hint?: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {hint ? <div class="stat-hint">{hint}</div> : null}
    </div>
  )
}

/** An API failure, with its stable code. */
export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null
  const code = error instanceof ApiError ? error.code : 'error'
  return (
    <p class="error" role="alert">
      <strong>{code}</strong>: {error.message}
    </p>
  )
}

export function Loading({ loading }: { loading: boolean }) {
  return loading ? (
    <span class="loading" role="status">
      Loading…
    </span>
  ) : null
}

export function Panel({
  title,
  children,
  actions,
}: {
  title: string
  children: ComponentChildren
  actions?: ComponentChildren
}) {
  return (
    <section class="panel" aria-label={title}>
      <header class="panel-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  )
}

/** Pretty JSON, selectable and scrollable. */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  return (
    <section aria-label={label}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: the block scrolls; keyboard users need to reach it */}
      <pre class="json" tabIndex={0}>
        {JSON.stringify(value, null, 2)}
      </pre>
    </section>
  )
}
