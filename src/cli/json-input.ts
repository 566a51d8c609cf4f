/**
 * Splits a byte stream of events into one JSON text per event, without holding more than one event in
 * memory: NDJSON (one event per line) or a top-level JSON array (detected by its first non-blank byte).
 * An item longer than `maxItemBytes` is not kept: it is reported as oversized and its bytes skipped, so a
 * 1 GB line costs no more memory than a small one.
 *
 * The array splitter tracks strings, escapes and nesting depth byte by byte; it only finds where each
 * element starts and ends — the element itself is parsed (and judged) by the validator.
 */

export interface InputItem {
  /** 1-based line where the item starts. */
  line: number
  /** 0-based position in a JSON array; absent for NDJSON. */
  index?: number
  /** The item's text; null when it was longer than the limit. */
  text: string | null
  byteSize: number
  /** Set when the input is malformed around this item (e.g. the array never closes). */
  problem?: string
}

const NL = 10
const CR = 13
const SPACE = 32
const TAB = 9
const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93
const OPEN_BRACE = 123
const CLOSE_BRACE = 125

const isBlank = (b: number) => b === SPACE || b === NL || b === CR || b === TAB

/**
 * Strict UTF-8: `Buffer#toString` turns invalid bytes into U+FFFD, and a Latin-1 export was stored with
 * every accented letter replaced while HTTP refuses the same bytes (`invalid_encoding`). JSON is UTF-8.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const NOT_UTF8 = 'the text is not valid UTF-8 (a Latin-1 or Windows-1252 file? convert it with iconv first)'

type Taken = { text: string | null; byteSize: number; problem?: string }

/** Collects the bytes of one item across chunks, up to a cap. */
class ItemBuffer {
  #parts: Buffer[] = []
  size = 0
  constructor(readonly max: number) {}

  append(chunk: Buffer, start: number, end: number): void {
    const len = end - start
    if (len <= 0) return
    if (this.size + len <= this.max) this.#parts.push(chunk.subarray(start, end))
    else this.#parts = []
    this.size += len
  }

  get oversized(): boolean {
    return this.size > this.max
  }

  take(): Taken {
    const byteSize = this.size
    const bytes = this.oversized
      ? null
      : this.#parts.length === 1
        ? this.#parts[0]
        : Buffer.concat(this.#parts)
    this.#parts = []
    this.size = 0
    if (bytes === null) return { text: null, byteSize }
    try {
      return { text: UTF8.decode(bytes), byteSize }
    } catch {
      return { text: null, byteSize, problem: NOT_UTF8 }
    }
  }
}

/** Yields the items of an NDJSON or JSON-array byte stream. */
export async function* readJsonItems(
  source: AsyncIterable<Buffer | string>,
  maxItemBytes: number,
): AsyncGenerator<InputItem> {
  let mode: 'unknown' | 'ndjson' | 'array' = 'unknown'
  const item = new ItemBuffer(maxItemBytes)
  let line = 1
  // NDJSON state
  let itemLine = 1
  // array state
  let depth = 0 // 0: before '[', 1: inside the array, >1: inside an element
  let inString = false
  let escaped = false
  let inItem = false
  let index = 0
  let closed = false
  let trailing = false
  let trailingLine = 0
  // Inside the array, between elements: whether the last thing seen was a ',' (or the '[' itself).
  let afterComma = false
  let atStart = true

  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw
    let pos = 0
    if (mode === 'unknown') {
      while (
        pos < chunk.length &&
        (isBlank(chunk[pos]) || chunk[pos] === 0xef || chunk[pos] === 0xbb || chunk[pos] === 0xbf)
      ) {
        if (chunk[pos] === NL) line++
        pos++
      }
      if (pos === chunk.length) continue
      mode = chunk[pos] === OPEN_BRACKET ? 'array' : 'ndjson'
      itemLine = line
    }

    if (mode === 'ndjson') {
      while (pos < chunk.length) {
        const nl = chunk.indexOf(NL, pos)
        const end = nl === -1 ? chunk.length : nl
        item.append(chunk, pos, end)
        if (nl === -1) break
        const out = finishLine(item, itemLine)
        if (out !== null) yield out
        line++
        itemLine = line
        pos = nl + 1
      }
      continue
    }

    // array mode: one pass over the bytes
    let start = inItem ? pos : -1
    for (let i = pos; i < chunk.length; i++) {
      const b = chunk[i]
      if (b === NL) line++
      if (inString) {
        if (escaped) escaped = false
        else if (b === BACKSLASH) escaped = true
        else if (b === QUOTE) inString = false
        continue
      }
      if (closed) {
        if (!isBlank(b) && !trailing) {
          trailing = true
          trailingLine = line
        }
        continue
      }
      if (depth === 0) {
        if (b === OPEN_BRACKET) depth = 1
        continue
      }
      if (depth === 1 && !inItem) {
        if (isBlank(b)) continue
        if (b === COMMA && (afterComma || atStart)) {
          // `[a,,b]` or `[,a]`: JSON.parse refuses it, and a lost element usually hides behind it.
          yield {
            line,
            index: index++,
            text: null,
            byteSize: 0,
            problem: 'an empty array element (a comma with no value before it)',
          }
          afterComma = true
          atStart = false
          continue
        }
        if (b === COMMA) {
          afterComma = true
          continue
        }
        if (b === CLOSE_BRACKET) {
          if (afterComma) {
            yield {
              line,
              index,
              text: null,
              byteSize: 0,
              problem: 'a comma before the closing "]" (a trailing comma is not JSON)',
            }
          }
          depth = 0
          closed = true
          continue
        }
        afterComma = false
        atStart = false
        inItem = true
        itemLine = line - (b === NL ? 1 : 0)
        start = i
      }
      if (b === QUOTE) inString = true
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET || b === COMMA) {
        if (depth === 1) {
          // end of the element (',' or the array's ']')
          item.append(chunk, start, i)
          yield { line: itemLine, index: index++, ...trimmed(item.take()) }
          inItem = false
          start = -1
          afterComma = b === COMMA
          if (b === CLOSE_BRACKET) {
            depth = 0
            closed = true
          }
          continue
        }
        if (b !== COMMA) depth--
      }
    }
    if (inItem && start !== -1) item.append(chunk, start, chunk.length)
  }

  if (mode === 'ndjson') {
    const out = finishLine(item, itemLine)
    if (out !== null) yield out
  } else if (mode === 'array') {
    if (inItem) {
      yield { line: itemLine, index: index++, ...item.take(), problem: 'the input ended inside this element' }
    } else if (!closed) {
      yield { line, index, text: null, byteSize: 0, problem: 'the JSON array is not closed with "]"' }
    }
    if (trailing) {
      // Where it starts (the end of the input was named, past the file's last line). An NDJSON file whose
      // first line is an array lands here: say how the input was read.
      yield {
        line: trailingLine,
        text: null,
        byteSize: 0,
        problem:
          'unexpected text after the JSON array: an input that starts with "[" is read as one JSON array; for NDJSON, start it with an event object',
      }
    }
  }
}

/** Drops trailing blanks between an element and its ',' or ']' (ASCII, so bytes = characters). */
function trimmed(taken: Taken): Taken {
  if (taken.text === null) return taken
  const text = taken.text.trimEnd()
  return { text, byteSize: taken.byteSize - (taken.text.length - text.length) }
}

function finishLine(item: ItemBuffer, line: number): InputItem | null {
  const { text, byteSize, problem } = item.take()
  if (text === null) return { line, text, byteSize, ...(problem === undefined ? {} : { problem }) }
  const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text
  if (trimmed.trim() === '') return null
  return { line, text: trimmed, byteSize: trimmed.length === text.length ? byteSize : byteSize - 1 }
}
