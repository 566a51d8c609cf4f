/** The dashboard's only way to data: the HTTP API under /api/v1, with the session's Bearer key. */

export type Role = 'read' | 'admin'

/** An error answered by the API (`{ error: { code, message } }`) or a network failure (`network_error`). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export type QueryValue = string | number | boolean | undefined | null | readonly (string | number)[]

/** `?a=1&b=x&b=y`: lists as repeated parameters, empty values left out. */
export function toQueryString(query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v))
    else params.append(key, String(value))
  }
  const s = params.toString()
  return s ? `?${s}` : ''
}

let onUnauthorized: () => void = () => {}
/** Called when the API answers 401 (key revoked while logged in): the app logs out. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  query?: Record<string, QueryValue>
  body?: unknown
  /** Key to use instead of the session's (login checks a key before storing it). */
  key?: string
  signal?: AbortSignal
}

/** Calls the API and returns the parsed body; throws ApiError with the API's code on any failure. */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options)
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

/** Calls the API and returns the raw response (exports), after the same error handling. */
export async function apiFetch(path: string, options: RequestOptions = {}): Promise<Response> {
  return send(path, options)
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const key = options.key ?? getSession()?.key
  const headers: Record<string, string> = { accept: 'application/json' }
  if (key) headers.authorization = `Bearer ${key}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(`${path}${toQueryString(options.query)}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiError('network_error', 'The server did not answer; is tally serve running?', 0)
  }
  if (response.ok) return response
  let code = 'http_error'
  let message = `${response.status} ${response.statusText}`
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } }
    if (body.error?.code) code = body.error.code
    if (body.error?.message) message = body.error.message
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401 && !options.key) onUnauthorized()
  throw new ApiError(code, message, response.status)
}

// ---- session: the key lives in sessionStorage (gone when the tab closes) ----

export interface Session {
  key: string
  role: Role
  projectName: string
}

const SESSION_KEY = 'tally.session'

export function getSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY)
    return raw ? (JSON.parse(raw) as Session) : null
  } catch {
    return null
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session))
  else sessionStorage.removeItem(SESSION_KEY)
}

/**
 * Checks a key against the API: read access via GET /api/v1/project, admin via GET /api/v1/keys (admin only).
 * A write key is refused with a message saying why.
 */
export async function login(key: string): Promise<Session> {
  let project: { name: string }
  try {
    project = await apiRequest<{ name: string }>('/api/v1/project', { key })
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      throw new ApiError('unauthorized', 'This key is unknown or revoked.', 401)
    if (err instanceof ApiError && err.status === 403)
      throw new ApiError('forbidden', 'This is a write key; log in with a read or admin key.', 403)
    throw err
  }
  let role: Role = 'read'
  try {
    await apiRequest('/api/v1/keys', { key })
    role = 'admin'
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 403)) throw err
  }
  return { key, role, projectName: project.name }
}
