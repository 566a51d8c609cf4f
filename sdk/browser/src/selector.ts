/** Longest text kept from an element. */
const MAX_TEXT = 100
/** Ids that look generated (React `:r1:`, long digit runs, hashes) are not stable anchors. */
const UNSTABLE_ID = /\d{4,}|^:|[0-9a-f]{8,}/i

function stableId(el: Element): string | null {
  const id = el.id
  return id && !UNSTABLE_ID.test(id) ? id : null
}

/**
 * A CSS selector that finds `el` again on the next visit: `#id` when the element (or an ancestor) has a
 * stable id, otherwise tags with `:nth-of-type` up to 5 levels. Class names are left out on purpose: build
 * tools hash them, so they change between deploys.
 *
 * @example selectorOf(button) // '#signup > div:nth-of-type(2) > button'
 */
export function selectorOf(el: Element): string {
  const parts: string[] = []
  for (let node: Element | null = el; node && parts.length < 5; node = node.parentElement) {
    const id = stableId(node)
    if (id) {
      parts.unshift(`#${CSS.escape(id)}`)
      break
    }
    const tag = node.tagName.toLowerCase()
    if (tag === 'html' || tag === 'body') {
      parts.unshift(tag)
      break
    }
    let part = tag
    const parent: Element | null = node.parentElement
    if (parent) {
      const same = Array.prototype.filter.call(parent.children, (c: Element) => c.tagName === node!.tagName)
      if (same.length > 1) part += `:nth-of-type(${same.indexOf(node) + 1})`
    }
    parts.unshift(part)
  }
  return parts.join(' > ')
}

/**
 * Visible text of an element, whitespace collapsed and cut at 100 characters. Form fields give none: their
 * values are what the user typed, and are never captured.
 */
export function textOf(el: Element): string | undefined {
  if (el.closest('input,textarea,select,[contenteditable]')) return undefined
  const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim()
  return text ? cut(text) : cut(el.getAttribute('aria-label') ?? '') || undefined
}

/**
 * The first MAX_TEXT characters, never half of a surrogate pair: cut inside an emoji, the lone half made the
 * server refuse the click (`invalid_string`), after the transport had taken its 200 as delivered.
 */
function cut(text: string): string {
  return text.slice(0, MAX_TEXT).replace(/[\ud800-\udbff]$/, '')
}

/** `data-tally-*` attributes as properties: `data-tally-plan="pro"` → `{ plan: 'pro' }`. */
export function tallyData(el: Element): Record<string, string> | null {
  let out: Record<string, string> | null = null
  for (const a of Array.from(el.attributes)) {
    if (a.name.startsWith('data-tally-')) {
      out ??= {}
      out[a.name.slice(11).replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] = a.value
    }
  }
  return out
}
