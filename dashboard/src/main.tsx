import { render } from 'preact'
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks'
import { ApiError, getSession, login, type Session, saveSession, setUnauthorizedHandler } from './api'
import { RangePicker } from './components/range-picker'
import { ApiRequestsPage } from './pages/api-requests'
import { EventsPage } from './pages/events'
import { FailedPage } from './pages/failed'
import { InteractionsPage } from './pages/interactions'
import { OverviewPage } from './pages/overview'
import { PerformancePage } from './pages/performance'
import { SchemasPage } from './pages/schemas'
import { type RangeSpec, resolveRange } from './range'
import { navigate, PAGES, type PagePath, useRoute } from './router'
import './styles.css'

const RANGED: readonly PagePath[] = ['/', '/performance', '/api-requests', '/interactions']

const RANGE_KEY = 'tally.range'

/** The range survives reloads within the tab (default: last 24 hours). */
function loadRange(): RangeSpec {
  try {
    const saved = JSON.parse(sessionStorage.getItem(RANGE_KEY) ?? 'null') as RangeSpec | null
    if (saved && typeof saved.preset === 'string') return saved
  } catch {
    // ignore a damaged value
  }
  return { preset: '24h' }
}

function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  return (
    <main class="login">
      <form
        aria-labelledby="login-title"
        onSubmit={async (e) => {
          e.preventDefault()
          setBusy(true)
          setError(undefined)
          try {
            onLogin(await login(key.trim()))
          } catch (err) {
            setError(err instanceof ApiError ? err.message : String(err))
          } finally {
            setBusy(false)
          }
        }}
      >
        <h1 id="login-title">Tally</h1>
        <p>Log in with a read or admin API key. It is kept in this tab's session storage only.</p>
        <label>
          API key
          <input
            type="password"
            name="key"
            autoComplete="off"
            required
            minLength={8}
            value={key}
            onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  )
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const path = useRoute()
  const [spec, setSpec] = useState<RangeSpec>(loadRange)
  useEffect(() => sessionStorage.setItem(RANGE_KEY, JSON.stringify(spec)), [spec])
  const [refreshMs, setRefreshMs] = useState(0)
  const [tick, setTick] = useState(0)
  const range = useMemo(() => resolveRange(spec), [spec, tick])
  const refresh = useCallback(() => setTick((t) => t + 1), [])
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0]

  useEffect(() => {
    document.title = `${page.label} · Tally`
  }, [page])

  return (
    <div class="shell">
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Tally</span>
        <span class="project">
          {session.projectName} <span class="badge">{session.role}</span>
        </span>
        <button type="button" onClick={onLogout}>
          Log out
        </button>
      </header>
      <nav class="nav" aria-label="Pages">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <a
                href={p.path}
                aria-current={p.path === path ? 'page' : undefined}
                onClick={(e) => {
                  if (e.ctrlKey || e.metaKey || e.shiftKey) return
                  e.preventDefault()
                  navigate(p.path)
                }}
              >
                {p.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="content" class="content" tabIndex={-1}>
        <div class="page-head">
          <h1>{page.label}</h1>
          {RANGED.includes(path) ? (
            <RangePicker
              value={spec}
              onChange={setSpec}
              refreshMs={refreshMs}
              onRefreshMsChange={setRefreshMs}
              onRefresh={refresh}
            />
          ) : null}
        </div>
        {path === '/' ? <OverviewPage range={range} /> : null}
        {path === '/performance' ? <PerformancePage range={range} /> : null}
        {path === '/api-requests' ? <ApiRequestsPage range={range} /> : null}
        {path === '/interactions' ? <InteractionsPage range={range} /> : null}
        {path === '/events' ? <EventsPage /> : null}
        {path === '/failed' ? <FailedPage role={session.role} /> : null}
        {path === '/schemas' ? <SchemasPage role={session.role} /> : null}
      </main>
    </div>
  )
}

function App() {
  const [session, setSession] = useState<Session | null>(getSession)
  const logout = useCallback(() => {
    saveSession(null)
    setSession(null)
  }, [])
  useEffect(() => setUnauthorizedHandler(logout), [logout])
  if (!session)
    return (
      <Login
        onLogin={(s) => {
          saveSession(s)
          setSession(s)
        }}
      />
    )
  return <Shell session={session} onLogout={logout} />
}

render(<App />, document.getElementById('app')!)
