import type { Options } from 'ajv'
import { RE2JS } from 're2js'

/** Ajv's `code.regExp`: `(pattern, flags) => { test(string): boolean }`, with a `code` string. */
type RegExpEngine = NonNullable<NonNullable<Options['code']>['regExp']>

/**
 * Linear-time matching for the regexes of tracking-plan schemas (`pattern`, `patternProperties`).
 *
 * Those regexes come from whoever registers a schema, and every event of the type is matched against them,
 * with strings from the public write key. JavaScript's own engine backtracks: a pattern such as
 * `^(a|a)*$` takes exponential time on `"aaa…a!"`, and no syntactic check catches every such pattern.
 * So user patterns run on re2js, a pure-JS port of RE2, whose matching time is linear in the input.
 *
 * JSON Schema patterns are ECMAScript regexes, which Ajv compiles with the `u` flag. `translatePattern`
 * rewrites one into RE2 syntax with the same meaning, construct by construct; where the two dialects
 * differ (`.`, `\s`, `\S`, `\u…` escapes, `\p{…}` names, `[^]`, `[]`) it spells the ECMAScript meaning out
 * as explicit code-point ranges. What RE2 cannot match in linear time (backreferences, lookahead,
 * lookbehind) is refused with `UnsupportedPatternError`, as are inline modifiers and the few property
 * escapes RE2 has no table for. One known difference remains: V8 lets an empty match fall between the two
 * halves of a surrogate pair, where `\B` holds (`/\B/u.test('a😀a')`); the spec and RE2 do not.
 */

/** A valid ECMAScript pattern that the linear-time engine cannot run; `message` says why. */
export class UnsupportedPatternError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnsupportedPatternError'
  }
}

/**
 * Largest compiled program (RE2JS `programSize()`, roughly one instruction per character matcher) a
 * registered pattern may have. Matching is linear in the input but also proportional to the program:
 * on this project's 2-core machines, a crafted 65,536-character string (the longest an event may carry)
 * that defeats the DFA cache took 0.1–0.4 s at 30 instructions and about 2 s at 500; an ordinary string,
 * microseconds. 1,000 is also RE2's own limit on a repeat count.
 */
export const MAX_PROGRAM_SIZE = 1000
/**
 * Longest string a tracking-plan pattern is matched against; a longer one does not match. Linear time is
 * still ~0.1–0.4 s for a crafted 64K-character string on re2js (its DFA cache thrashes), and a write key is
 * public: the bound keeps one event's worst case near 50 ms. Patterns describe ids, codes and slugs, not
 * long text (use `maxLength` there).
 */
export const MAX_PATTERN_INPUT = 8192

type Ranges = readonly (readonly [number, number])[]

const MAX_CODE_POINT = 0x10ffff
const DIGIT: Ranges = [[0x30, 0x39]]
const WORD: Ranges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]
/** ECMAScript `\s`: WhiteSpace (TAB, VT, FF, SP, NBSP, ZWNBSP, Zs) and LineTerminator (LF, CR, LS, PS). */
const SPACE: Ranges = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]
/** What ECMAScript `.` does not match without the `s` flag. */
const LINE_TERMINATORS: Ranges = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]

function complement(ranges: Ranges): Ranges {
  const out: [number, number][] = []
  let next = 0
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1])
    next = hi + 1
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT])
  return out
}

const hex = (cp: number) => `\\x{${cp.toString(16)}}`
const rangesBody = (ranges: Ranges) =>
  ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('')

const DOT = `[^${rangesBody(LINE_TERMINATORS)}]`
const ANY = `[${rangesBody([[0, MAX_CODE_POINT]])}]`
const NOTHING = `[^${rangesBody([[0, MAX_CODE_POINT]])}]`

/** The class escapes `\d \D \w \W \s \S` as RE2 class bodies (what goes between `[` and `]`). */
const CLASS_ESCAPES: Readonly<Record<string, string>> = {
  d: rangesBody(DIGIT),
  D: rangesBody(complement(DIGIT)),
  w: rangesBody(WORD),
  W: rangesBody(complement(WORD)),
  s: rangesBody(SPACE),
  S: rangesBody(complement(SPACE)),
}

/** General_Category values ECMAScript accepts (long names and aliases) → the short name RE2 knows. */
const GENERAL_CATEGORIES: Readonly<Record<string, string>> = {
  Cased_Letter: 'LC',
  Close_Punctuation: 'Pe',
  Connector_Punctuation: 'Pc',
  Control: 'Cc',
  cntrl: 'Cc',
  Currency_Symbol: 'Sc',
  Dash_Punctuation: 'Pd',
  Decimal_Number: 'Nd',
  digit: 'Nd',
  Enclosing_Mark: 'Me',
  Final_Punctuation: 'Pf',
  Format: 'Cf',
  Initial_Punctuation: 'Pi',
  Letter: 'L',
  Letter_Number: 'Nl',
  Line_Separator: 'Zl',
  Lowercase_Letter: 'Ll',
  Mark: 'M',
  Combining_Mark: 'M',
  Math_Symbol: 'Sm',
  Modifier_Letter: 'Lm',
  Modifier_Symbol: 'Sk',
  Nonspacing_Mark: 'Mn',
  Number: 'N',
  Open_Punctuation: 'Ps',
  Other: 'C',
  Other_Letter: 'Lo',
  Other_Number: 'No',
  Other_Punctuation: 'Po',
  Other_Symbol: 'So',
  Paragraph_Separator: 'Zp',
  Private_Use: 'Co',
  Punctuation: 'P',
  punct: 'P',
  Separator: 'Z',
  Space_Separator: 'Zs',
  Spacing_Mark: 'Mc',
  Surrogate: 'Cs',
  Symbol: 'S',
  Titlecase_Letter: 'Lt',
  Unassigned: 'Cn',
  Uppercase_Letter: 'Lu',
}
const SHORT_CATEGORIES = new Set(Object.values(GENERAL_CATEGORIES))
/** Binary properties that both ECMAScript and re2js know, by their ECMAScript name → re2js name. */
const BINARY_PROPERTIES: Readonly<Record<string, string>> = {
  Any: 'Any',
  ASCII: 'Ascii',
  Assigned: 'Assigned',
  ASCII_Hex_Digit: 'ASCII_Hex_Digit',
  Alphabetic: 'Alphabetic',
  Dash: 'Dash',
  Emoji: 'Emoji',
  Emoji_Component: 'Emoji_Component',
  Emoji_Modifier: 'Emoji_Modifier',
  Emoji_Modifier_Base: 'Emoji_Modifier_Base',
  Emoji_Presentation: 'Emoji_Presentation',
  Extended_Pictographic: 'Extended_Pictographic',
  Hex_Digit: 'Hex_Digit',
  Lowercase: 'Lowercase',
  Math: 'Math',
  Quotation_Mark: 'Quotation_Mark',
  Terminal_Punctuation: 'Terminal_Punctuation',
  Uppercase: 'Uppercase',
  White_Space: 'White_Space',
}

/** The RE2 table name for the body of an ECMAScript `\p{…}`. */
function propertyName(body: string): string {
  const eq = body.indexOf('=')
  if (eq < 0) {
    const name = GENERAL_CATEGORIES[body] ?? (SHORT_CATEGORIES.has(body) ? body : BINARY_PROPERTIES[body])
    if (name !== undefined) return name
    throw new UnsupportedPatternError(`the Unicode property \\p{${body}} is not supported`)
  }
  const key = body.slice(0, eq)
  const value = body.slice(eq + 1)
  if (key === 'General_Category' || key === 'gc') {
    const name = GENERAL_CATEGORIES[value] ?? (SHORT_CATEGORIES.has(value) ? value : undefined)
    if (name !== undefined) return name
  } else if (key === 'Script' || key === 'sc') {
    // RE2 knows scripts by their long names (Latin, Greek, Old_Italic); a short alias such as Grek fails
    // to compile and is refused there. No long script name is also a category or property name.
    return value
  }
  throw new UnsupportedPatternError(`the Unicode property \\p{${body}} is not supported`)
}

const isHex = (cp: number | undefined) =>
  cp !== undefined && ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66))
const isAsciiLetter = (cp: number | undefined) =>
  cp !== undefined && ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a))
const isDigit = (cp: number | undefined) => cp !== undefined && cp >= 0x30 && cp <= 0x39
/** ECMAScript SyntaxCharacter and `/`: the identity escapes the `u` flag allows. */
const SYNTAX_CHARACTERS = new Set([...'^$\\.*+?()[]{}|/'].map((c) => c.codePointAt(0) as number))

/** A character outside a class, as an RE2 atom. */
const literal = (cp: number) =>
  isAsciiLetter(cp) || isDigit(cp) || cp === 0x5f ? String.fromCodePoint(cp) : hex(cp)

/** A class member: one code point (which may start or end a range) or a set (an RE2 class body). */
type ClassAtom = { cp: number; body?: undefined } | { cp?: undefined; body: string }

/**
 * A translator for one pattern, a recursive-descent parser over its code points. It relies on the pattern
 * having compiled as `new RegExp(pattern, 'u')`, whose grammar has no Annex B leniency: every `{`, `}`,
 * `]` is syntax, every escape is one of a closed set. Anything else it meets is an error, never guessed.
 */
class Translator {
  readonly #cps: number[]
  #i = 0

  constructor(pattern: string) {
    this.#cps = [...pattern].map((c) => c.codePointAt(0) as number)
  }

  translate(): string {
    const out = this.#disjunction()
    if (this.#i < this.#cps.length) this.#unexpected()
    return out
  }

  #peek(offset = 0): number | undefined {
    return this.#cps[this.#i + offset]
  }

  #next(): number {
    const cp = this.#cps[this.#i++]
    if (cp === undefined) throw new UnsupportedPatternError('the pattern ends unexpectedly')
    return cp
  }

  #is(ch: string, offset = 0): boolean {
    return this.#peek(offset) === ch.codePointAt(0)
  }

  #unexpected(): never {
    throw new UnsupportedPatternError(`unexpected syntax at offset ${this.#i}`)
  }

  #disjunction(): string {
    const alternatives = [this.#alternative()]
    while (this.#is('|')) {
      this.#i++
      alternatives.push(this.#alternative())
    }
    return alternatives.join('|')
  }

  #alternative(): string {
    let out = ''
    while (this.#i < this.#cps.length && !this.#is('|') && !this.#is(')')) out += this.#term()
    return out
  }

  #term(): string {
    const cp = this.#next()
    let atom: string
    switch (String.fromCodePoint(cp)) {
      // Without the m flag, ^ and $ are the start and end of the input; RE2 reads them the same way.
      case '^':
        return '^'
      case '$':
        return '$'
      case '.':
        atom = DOT
        break
      case '(':
        atom = this.#group()
        break
      case '[':
        atom = this.#characterClass()
        break
      case '\\': {
        const escaped = this.#atomEscape()
        if (escaped === '\\b' || escaped === '\\B') return escaped // assertions take no quantifier
        atom = escaped
        break
      }
      case '*':
      case '+':
      case '?':
      case '{':
      case '}':
      case ']':
      case ')':
        this.#i--
        this.#unexpected()
        break
      default:
        atom = literal(cp)
    }
    return atom + this.#quantifier()
  }

  #group(): string {
    if (this.#is('?')) {
      if (this.#is(':', 1)) {
        this.#i += 2
      } else if (this.#is('=', 1) || this.#is('!', 1)) {
        throw new UnsupportedPatternError('lookahead assertions ((?=…), (?!…)) are not supported')
      } else if (this.#is('<', 1) && (this.#is('=', 2) || this.#is('!', 2))) {
        throw new UnsupportedPatternError('lookbehind assertions ((?<=…), (?<!…)) are not supported')
      } else if (this.#is('<', 1)) {
        // A named group: the name only matters to backreferences, which are refused.
        this.#i += 2
        while (!this.#is('>')) this.#next()
        this.#i++
      } else {
        throw new UnsupportedPatternError('inline modifiers such as (?i:…) are not supported')
      }
    }
    const inner = this.#disjunction()
    if (!this.#is(')')) this.#unexpected()
    this.#i++
    return `(?:${inner})`
  }

  #quantifier(): string {
    let q: string
    if (this.#is('*') || this.#is('+') || this.#is('?')) {
      q = String.fromCodePoint(this.#next())
    } else if (this.#is('{')) {
      this.#i++
      q = '{'
      while (!this.#is('}')) {
        const cp = this.#next()
        if (!isDigit(cp) && cp !== 0x2c) this.#unexpected()
        q += String.fromCodePoint(cp)
      }
      this.#i++
      q += '}'
    } else {
      return ''
    }
    // Lazy or greedy makes no difference to whether a string matches.
    if (this.#is('?')) this.#i++
    return q
  }

  /** After `\` outside a class: an RE2 atom, or `\b` / `\B`. */
  #atomEscape(): string {
    const cp = this.#next()
    const c = String.fromCodePoint(cp)
    if (Object.hasOwn(CLASS_ESCAPES, c)) return `[${CLASS_ESCAPES[c]}]`
    if (c === 'b' || c === 'B') return `\\${c}` // ASCII word boundaries in both dialects
    if (c === 'p' || c === 'P') return this.#property(c)
    if (c === 'k' || (cp >= 0x31 && cp <= 0x39)) {
      throw new UnsupportedPatternError('backreferences (\\1, \\k<name>) are not supported')
    }
    return literal(this.#characterEscape(cp))
  }

  #property(c: 'p' | 'P'): string {
    if (!this.#is('{')) this.#unexpected()
    this.#i++
    let body = ''
    while (!this.#is('}')) body += String.fromCodePoint(this.#next())
    this.#i++
    return `\\${c}{${propertyName(body)}}`
  }

  /** The code point of a CharacterEscape whose first character (after `\`) is `cp`. */
  #characterEscape(cp: number): number {
    switch (String.fromCodePoint(cp)) {
      case 'f':
        return 0x0c
      case 'n':
        return 0x0a
      case 'r':
        return 0x0d
      case 't':
        return 0x09
      case 'v':
        return 0x0b
      case '0':
        return 0
      case 'c': {
        const letter = this.#next()
        if (!isAsciiLetter(letter)) this.#unexpected()
        return letter % 32
      }
      case 'x':
        return this.#hexDigits(2)
      case 'u': {
        if (this.#is('{')) {
          this.#i++
          let value = 0
          while (!this.#is('}')) {
            const d = this.#next()
            if (!isHex(d)) this.#unexpected()
            value = value * 16 + Number.parseInt(String.fromCodePoint(d), 16)
            if (value > MAX_CODE_POINT) this.#unexpected()
          }
          this.#i++
          return value
        }
        const unit = this.#hexDigits(4)
        // With the u flag, an escaped surrogate pair is one code point.
        if (unit >= 0xd800 && unit <= 0xdbff && this.#is('\\') && this.#is('u', 1)) {
          const save = this.#i
          this.#i += 2
          if ([0, 1, 2, 3].every((k) => isHex(this.#peek(k)))) {
            const trail = this.#hexDigits(4)
            if (trail >= 0xdc00 && trail <= 0xdfff)
              return (unit - 0xd800) * 0x400 + (trail - 0xdc00) + 0x10000
          }
          this.#i = save
        }
        return unit
      }
      default:
        if (SYNTAX_CHARACTERS.has(cp)) return cp
        this.#i--
        this.#unexpected()
    }
  }

  #hexDigits(count: number): number {
    let value = 0
    for (let k = 0; k < count; k++) {
      const d = this.#next()
      if (!isHex(d)) this.#unexpected()
      value = value * 16 + Number.parseInt(String.fromCodePoint(d), 16)
    }
    return value
  }

  #characterClass(): string {
    const negated = this.#is('^')
    if (negated) this.#i++
    let body = ''
    while (!this.#is(']')) {
      const from = this.#classAtom()
      if (from.cp !== undefined && this.#is('-') && this.#peek(1) !== undefined && !this.#is(']', 1)) {
        this.#i++
        const to = this.#classAtom()
        if (to.cp === undefined || to.cp < from.cp) this.#unexpected()
        body += `${hex(from.cp)}-${hex(to.cp)}`
      } else {
        body += from.cp === undefined ? from.body : hex(from.cp)
      }
    }
    this.#i++
    // ECMAScript's [] matches nothing and [^] any character; RE2 would read a ] there as a member.
    if (body === '') return negated ? ANY : NOTHING
    return `[${negated ? '^' : ''}${body}]`
  }

  #classAtom(): ClassAtom {
    const cp = this.#next()
    if (cp !== 0x5c) return { cp }
    const e = this.#next()
    const c = String.fromCodePoint(e)
    if (Object.hasOwn(CLASS_ESCAPES, c)) return { body: CLASS_ESCAPES[c] }
    if (c === 'p' || c === 'P') return { body: this.#property(c) }
    if (c === 'b') return { cp: 0x08 }
    if (c === '-') return { cp: 0x2d }
    return { cp: this.#characterEscape(e) }
  }
}

/**
 * `pattern` (an ECMAScript regex, read with the `u` flag) in RE2 syntax, with the same meaning.
 *
 * @throws SyntaxError when `pattern` is not a valid ECMAScript regex (the message is JavaScript's).
 * @throws UnsupportedPatternError for backreferences, lookarounds, inline modifiers and unsupported `\p{…}`.
 * @example translatePattern('^\\S+@\\S+$') // '^[\x{0}-\x{8}\x{e}-\x{1f}…]+@[…]+$'
 */
export function translatePattern(pattern: string): string {
  new RegExp(pattern, 'u') // the syntax check, and JavaScript's message when it fails
  return new Translator(pattern).translate()
}

/**
 * What Ajv needs of a compiled pattern (`RegExpLike`), matched by RE2. Each keeps re2js's lazy DFA cache,
 * bounded by re2js's default budget (8 MB of accounted state; about 5 MB of heap once a crafted string
 * has filled it), after which it matches on the NFA, still in linear time.
 */
export class LinearRegExp {
  readonly source: string
  readonly #re: RE2JS

  /**
   * @throws SyntaxError when `pattern` is not a valid ECMAScript regex.
   * @throws UnsupportedPatternError when the linear-time engine cannot run it, or (unless
   *   `maxProgramSize` is `Infinity`) when it compiles to more than `MAX_PROGRAM_SIZE` instructions.
   */
  constructor(pattern: string, options: { maxProgramSize?: number } = {}) {
    const translated = translatePattern(pattern)
    let re: RE2JS
    try {
      re = RE2JS.compile(translated)
    } catch (err) {
      // RE2's own limits: a repeat count above 1000 (also across nested repeats), an unknown script.
      const message = String((err as Error).message).replace(/^error parsing regexp: /, '')
      throw new UnsupportedPatternError(`RE2 cannot compile it (${message})`)
    }
    const max = options.maxProgramSize ?? MAX_PROGRAM_SIZE
    if (re.programSize() > max) {
      throw new UnsupportedPatternError(
        `it compiles to ${re.programSize()} instructions, more than ${max}; matching time grows with the string's length times that size (large counted repeats such as {1,500} cost one instruction per count)`,
      )
    }
    this.source = pattern
    this.#re = re
  }

  /**
   * Whether the pattern matches anywhere in `input`, as `RegExp.prototype.test` (time linear in `input`);
   * false for an input longer than `MAX_PATTERN_INPUT`.
   */
  test(input: string): boolean {
    return input.length <= MAX_PATTERN_INPUT && this.#re.test(input)
  }

  /** Ajv keys compiled patterns by this string. */
  toString(): string {
    return `/${this.source}/u`
  }
}

/** How a pattern fails on the linear engine: null when it is fine or not a valid regex at all. */
export function linearPatternProblem(pattern: string): string | null {
  try {
    new LinearRegExp(pattern)
    return null
  } catch (err) {
    return err instanceof UnsupportedPatternError ? err.message : null
  }
}

function engine(fn: (pattern: string) => { test(input: string): boolean }): RegExpEngine {
  // `code` is what Ajv's standalone code generation would emit for the engine; Tally never uses it.
  return Object.assign((pattern: string, _flags: string) => fn(pattern), { code: 'tallyLinearRegExp' })
}

/**
 * Ajv's `code.regExp` for newly registered schemas: every pattern runs on the linear-time engine, and
 * one it cannot run fails the compile. Always reads patterns with the `u` flag (Ajv's default).
 */
export const linearRegExpEngine: RegExpEngine = engine((pattern) => new LinearRegExp(pattern))

/**
 * Ajv's `code.regExp` for schemas already in the database: the linear-time engine whatever the pattern's
 * size, so a plan stored before sizes were checked keeps loading. A pattern it cannot run at all
 * (backreferences, lookarounds) fails the compile, and the version is listed as unusable: it used to run
 * on JavaScript's backtracking engine, where `^(?=a)(a+)+$` against 36 a's froze the server for minutes
 * (a trial).
 */
export const storedRegExpEngine: RegExpEngine = engine(
  (pattern) => new LinearRegExp(pattern, { maxProgramSize: Number.POSITIVE_INFINITY }),
)
