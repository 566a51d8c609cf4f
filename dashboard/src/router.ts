import { useEffect, useState } from 'preact/hooks'

/** The dashboard's pages: path → label. Paths avoid the server's own prefixes (/api, /v1, /docs, …). */
export const PAGES = [
  { path: '/', label: 'Overview' },
  { path: '/performance', label: 'Performance' },
  { path: '/api-requests', label: 'API' },
  { path: '/interactions', label: 'Interactions' },
  { path: '/events', label: 'Events' },
  { path: '/failed', label: 'Failed events' },
  { path: '/schemas', label: 'Schemas' },
] as const

export type PagePath = (typeof PAGES)[number]['path']

function currentPath(): PagePath {
  const path = location.pathname.replace(/\/+$/, '') || '/'
  return (PAGES.find((p) => p.path === path)?.path ?? '/') as PagePath
}

/** Moves to a page without a reload (the server answers index.html for every page path on reload). */
export function navigate(path: PagePath): void {
  if (location.pathname === path) return
  history.pushState(null, '', path)
  dispatchEvent(new PopStateEvent('popstate'))
}

export function useRoute(): PagePath {
  const [path, setPath] = useState(currentPath)
  useEffect(() => {
    const update = () => setPath(currentPath())
    addEventListener('popstate', update)
    return () => removeEventListener('popstate', update)
  }, [])
  return path
}
