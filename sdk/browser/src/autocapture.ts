import { selectorOf, tallyData, textOf } from './selector.js'

type Emit = (type: 'interaction', name: string, properties: Record<string, unknown>) => void

/** Elements whose clicks are recorded: links, buttons, and anything with a `data-tally-*` attribute. */
function clickable(start: EventTarget | null): Element | null {
  for (
    let el = start instanceof Element ? start : null, depth = 0;
    el && depth < 10;
    el = el.parentElement, depth++
  ) {
    const tag = el.tagName
    if (tag === 'A' || tag === 'BUTTON' || el.getAttribute('role') === 'button') return el
    if (tag === 'INPUT' && /^(submit|button|reset)$/.test((el as HTMLInputElement).type)) return el
    if (tallyData(el)) return el
  }
  return null
}

function target(el: Element): Record<string, unknown> {
  const t: Record<string, unknown> = { selector: selectorOf(el), tag: el.tagName.toLowerCase() }
  if (el.id) t.id = el.id
  const text = el.tagName === 'FORM' ? undefined : textOf(el)
  if (text) t.text = text
  const href = el.getAttribute('href') ?? (el.tagName === 'FORM' ? el.getAttribute('action') : null)
  if (href) t.href = (el as HTMLAnchorElement).href || href
  return t
}

/**
 * Records clicks (links, buttons, `data-tally-*`) and form submits as `interaction` events. Never reads input
 * values; `data-tally-*` attributes of the element become properties.
 */
export function captureInteractions(emit: Emit): void {
  addEventListener(
    'click',
    (e) => {
      const el = clickable(e.target)
      if (el && !el.closest('[data-tally-ignore]'))
        emit('interaction', 'click', { target: target(el), ...tallyData(el) })
    },
    true,
  )
  addEventListener(
    'submit',
    (e) => {
      const form = e.target
      if (form instanceof HTMLFormElement && !form.closest('[data-tally-ignore]')) {
        emit('interaction', 'submit', { target: target(form), method: form.method, ...tallyData(form) })
      }
    },
    true,
  )
}

/** Calls `onChange` after pushState/replaceState/popstate when the path or query changed (not the hash). */
export function watchHistory(onChange: (previousUrl: string) => void): void {
  let last = location.pathname + location.search
  let lastHref = location.href
  const check = () => {
    const now = location.pathname + location.search
    if (now !== last) {
      last = now
      const previous = lastHref
      lastHref = location.href
      onChange(previous)
    } else lastHref = location.href
  }
  for (const m of ['pushState', 'replaceState'] as const) {
    const original = history[m]
    history[m] = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args)
      check()
    }
  }
  addEventListener('popstate', check)
}
