import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../errors/app-error.js'

/** Where `npm run build:dashboard` writes: `<repo>/dashboard/dist`, three levels up from src|dist/http/plugins. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url))

/** Path prefixes that belong to the server; the dashboard never answers for them (not even as a fallback). */
export const RESERVED_PREFIXES = [
  '/api',
  '/v1',
  '/docs',
  '/openapi.json',
  '/healthz',
  '/readyz',
  '/metrics',
] as const

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/** The page is same-origin only: scripts and styles from the dashboard itself, data from the API. */
const HTML_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

interface StaticFile {
  body: Buffer
  type: string
  etag: string
  cacheControl: string
}

export interface DashboardOptions {
  /** The built dashboard (default DEFAULT_DASHBOARD_DIR). */
  root?: string
}

/** True when `path` (no query) is `/api`, `/api/...`, `/metrics`, … — a server path, never the dashboard's. */
export function isReservedPath(path: string): boolean {
  // In any case: `/API/V1/EVENTS` (a typo the router does not match) was answered with the app's HTML, 200.
  const lower = path.toLowerCase()
  return RESERVED_PREFIXES.some((p) => lower === p || lower.startsWith(`${p}/`) || lower.startsWith(`${p}?`))
}

async function loadFiles(root: string): Promise<Map<string, StaticFile> | undefined> {
  if (!existsSync(join(root, 'index.html'))) return undefined
  const files = new Map<string, StaticFile>()
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) {
        await walk(full)
        continue
      }
      const urlPath = `/${relative(root, full).split(sep).join('/')}`
      const body = await readFile(full)
      // Vite puts content-hashed files under /assets: they never change, so browsers may keep them for good.
      const cacheControl =
        urlPath === '/index.html'
          ? 'no-cache'
          : urlPath.startsWith('/assets/')
            ? 'public, max-age=31536000, immutable'
            : 'public, max-age=3600'
      files.set(urlPath, {
        body,
        type: CONTENT_TYPES[extname(entry.name).toLowerCase()] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        cacheControl,
      })
    }
  }
  await walk(root)
  return files
}

/** The URL path decoded; a malformed escape is answered like a missing file, never as a server error. */
function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new AppError('not_found', `No file ${raw}`)
  }
}

const NOT_BUILT_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tally</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Tally is running</h1>
<p>The dashboard has not been built. Run <code>npm run build:dashboard</code> (or <code>npm run build</code>) and
reload this page. The HTTP API is available under <code>/api/v1</code>; see <a href="/docs">/docs</a>.</p>
</body></html>`

/**
 * Serves the built dashboard (dashboard/dist) at `/`: files with their content type, ETag and cache headers
 * (index.html `no-cache`, hashed `/assets/*` immutable), and index.html for any other GET path without a file
 * extension so client-side routes survive a reload. Reserved server paths (`/api`, `/v1`, `/docs`, …) are never
 * answered here; their unknown routes stay `not_found`. When the dashboard is not built, `/` explains how to
 * build it (404) instead of failing.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const root = options.root ?? DEFAULT_DASHBOARD_DIR
  let files = await loadFiles(root)

  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile, isHtml: boolean) => {
    reply.header('cache-control', file.cacheControl).header('etag', file.etag)
    reply.header('x-content-type-options', 'nosniff')
    if (isHtml) reply.headers(HTML_HEADERS)
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send()
    return reply.type(file.type).send(file.body)
  }

  async function serveDashboard(request: FastifyRequest, reply: FastifyReply) {
    const path = decodePath(request.url.split('?')[0] ?? '/')
    // The server's own 404 handler: it answers 405 when the path takes other methods (a GET of a POST route).
    if (isReservedPath(path)) return reply.callNotFound()
    // Built after the server started: pick it up without a restart.
    files ??= await loadFiles(root)
    if (!files) {
      if (path !== '/' && extname(path) !== '') throw new AppError('not_found', `No file ${path}`)
      return reply
        .code(404)
        .header('cache-control', 'no-cache')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT_HTML)
    }
    const file = files.get(path === '/' ? '/index.html' : path)
    if (file) return send(request, reply, file, file.type.startsWith('text/html'))
    // A missing asset is a 404, not the app shell (a stale hashed URL must not be answered with HTML).
    if (extname(path) !== '' || path.startsWith('/assets/'))
      throw new AppError('not_found', `No file ${path}`)
    const index = files.get('/index.html')!
    return send(request, reply, index, true)
  }

  app.get('/', { schema: { hide: true } }, serveDashboard)
  app.get('/*', { schema: { hide: true } }, serveDashboard)
}
