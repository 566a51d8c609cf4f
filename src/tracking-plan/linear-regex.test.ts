import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  LinearRegExp,
  linearPatternProblem,
  linearRegExpEngine,
  MAX_PATTERN_INPUT,
  storedRegExpEngine,
  translatePattern,
  UnsupportedPatternError,
} from './linear-regex.js'

/** Both engines on the same inputs: the linear one must say what `new RegExp(pattern, 'u')` says. */
function expectSameAsNative(pattern: string, inputs: readonly string[]): void {
  const native = new RegExp(pattern, 'u')
  const linear = new LinearRegExp(pattern)
  const differ = inputs.filter((input) => linear.test(input) !== native.test(input))
  expect({ pattern, differ }).toEqual({ pattern, differ: [] })
}

const SAMPLE_INPUTS = [
  '',
  'a',
  'abc_1',
  'ABC',
  'a\n',
  '\n',
  '\r',
  '\u2028',
  ' ',
  '\u00a0',
  '\ufeff',
  '\t\v\f',
  '2024-01',
  '2024-1',
  '１２３４-01',
  'héllo',
  'Ωmega',
  'αβγ',
  'a b@c.d',
  'user@example.com',
  '😀',
  '😃x',
  '\ud800',
  'x\udc00y',
  '\b',
  '-',
  '[]^\\',
  'a/b',
  'foo bar',
  'afoo',
  'SKU-123456',
]

describe('LinearRegExp', () => {
  it('should match exactly as JavaScript does for ordinary tracking-plan patterns', () => {
    const patterns = [
      '^[a-z0-9_]+$',
      '^\\d{4}-\\d{2}$',
      '^SKU-[0-9]{6}$',
      '^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$',
      '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
      '^\\p{L}+$',
      '^\\p{Lu}\\P{Lu}*$',
      '^\\p{Letter}[\\p{L}\\p{Nd}_]*$',
      '^\\p{General_Category=Decimal_Number}+$',
      '^\\p{Script=Greek}+$',
      '^\\p{sc=Latin}+$',
      '\\p{Emoji}',
      '^\\S+$',
      '^\\s*$',
      '^[\\s\\S]*$',
      '^[^\\S]$',
      '^\\w+$',
      '^\\W$',
      '^\\D$',
      '^.$',
      '^.+$',
      '^[^]$',
      '^[]$',
      '[]',
      '^\\u{1F600}$',
      '^\\uD83D\\uDE00$',
      '^[\\uD83D\\uDE00-\\uD83D\\uDE4F]',
      '^\\ud800$',
      '\\bfoo\\b',
      '\\Bfoo',
      '^(?<year>\\d{4})-(?:\\d{2})$',
      '^a{2,3}?$',
      '^\\cJ$',
      '^\\x41?\\/[\\-]?',
      '^[\\w-]+$',
      '^[a\\-z]+$',
      '^[\\b]$',
      '^[\\t\\v\\f\\0]+$',
      '^[\\]\\[^\\\\]+$',
      '',
      'a|',
      '()*',
      '^(foo|bar)+$',
      '^x?$',
    ]
    for (const pattern of patterns) expectSameAsNative(pattern, SAMPLE_INPUTS)
  })

  it('should give . \\s \\S \\d \\w and their complements their JavaScript meaning on every BMP code point', () => {
    const every = Array.from({ length: 0x10000 }, (_, cp) => String.fromCharCode(cp))
    for (const pattern of ['^\\s$', '^[^\\S]$', '^.$']) expectSameAsNative(pattern, every)
    const low = every.slice(0, 0x3100)
    for (const pattern of ['^\\d$', '^\\D$', '^\\w$', '^[\\W]$', '^\\S$', '^[^.\\s]$']) {
      expectSameAsNative(pattern, low)
    }
    expectSameAsNative('^.$', ['😀', '\u{10ffff}', '\u{e0001}'])
  })

  it('should agree with JavaScript on random patterns and strings', () => {
    const atoms = fc.constantFrom(
      'a',
      'b',
      'é',
      '😀',
      ' ',
      '.',
      '\\d',
      '\\D',
      '\\s',
      '\\S',
      '\\w',
      '\\W',
      '[ab]',
      '[^a]',
      '[a-c]',
      '[\\s\\d]',
      '[^\\S\\n]',
      '[^\\w-]',
      '[^]',
      '\\p{L}',
      '\\P{Lu}',
      '\\u{1F600}',
      '\\x20',
      '\\n',
      '\\u00e9',
      '[\\b]',
      '\\0',
      '\\cA',
      '[a-]',
      '[^\\P{L}]',
      '[^\\D\\s]',
      '[\\u{1F600}-\\u{1F64F}]',
      '\\.',
    )
    const quantifier = fc.constantFrom('', '', '*', '+', '?', '{2}', '{0,2}', '{1,}', '*?', '+?')
    const { pattern } = fc.letrec<{ pattern: string; term: string }>((tie) => ({
      term: fc.oneof(
        { weight: 4, arbitrary: fc.tuple(atoms, quantifier).map(([a, q]) => a + q) },
        { weight: 1, arbitrary: fc.constantFrom('\\b', '\\B') },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.constantFrom('(', '(?:', '(?<g>'), tie('pattern'), quantifier)
            .map(([open, inner, q]) => `${open}${inner})${q}`),
        },
      ),
      pattern: fc
        .array(fc.array(tie('term'), { maxLength: 3 }), { minLength: 1, maxLength: 2 })
        .map((alternatives) => alternatives.map((terms) => terms.join('')).join('|')),
    }))
    const anchored = fc
      .tuple(fc.boolean(), pattern, fc.boolean())
      .map(([start, p, end]) => `${start ? '^' : ''}${p}${end ? '$' : ''}`)
      // Named groups must be unique: keep only patterns JavaScript accepts.
      .filter((p) => {
        try {
          new RegExp(p, 'u')
          return true
        } catch {
          return false
        }
      })
    const input = fc
      .array(
        fc.constantFrom(
          'a',
          'b',
          'c',
          'A',
          'é',
          '😀',
          ' ',
          '\n',
          '\u00a0',
          '\u2028',
          '1',
          '_',
          '-',
          '\ud800',
          '\b',
          '\0',
          '5',
          '.',
          '😃',
        ),
        {
          maxLength: 8,
        },
      )
      .map((chars) => chars.join(''))
    fc.assert(
      fc.property(anchored, fc.array(input, { minLength: 1, maxLength: 6 }), (p, inputs) => {
        const native = new RegExp(p, 'u')
        const linear = new LinearRegExp(p)
        for (const s of inputs) {
          // V8 quirk: with the u flag it still tries an empty match between the halves of a surrogate
          // pair, where \B holds (/\B/u.test('a😀a') is true). The spec, and RE2, never look there.
          const m = native.exec(s)
          if (m !== null && m[0] === '' && /[\ud800-\udbff]$/.test(s.slice(0, m.index))) continue
          if (linear.test(s) !== native.test(s)) {
            throw new Error(
              `${JSON.stringify(p)} on ${JSON.stringify(s)}: linear ${linear.test(s)}, native ${native.test(s)}`,
            )
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('should answer the ReDoS inputs at once (no backtracking)', () => {
    const hostile = `${'a'.repeat(26)}!`
    const long = `${'a'.repeat(65_536)}!`
    for (const pattern of ['^(a|a)*$', '^(a|aa)+$', '^(a+)+$', '^(\\w+\\s?)*$']) {
      const re = new LinearRegExp(pattern)
      expect(re.test(hostile)).toBe(false)
      expect(re.test(long)).toBe(false)
      expect(re.test('aaaa')).toBe(true)
    }
    const digits = new LinearRegExp('^\\d*\\d*\\d*\\d*\\d*\\d*x$')
    expect(digits.test(`${'1'.repeat(65_536)}!`)).toBe(false)
    expect(digits.test('123x')).toBe(true)
  })

  it('should not match a string longer than MAX_PATTERN_INPUT (a bound on matching time)', () => {
    const re = new LinearRegExp('^a+$')
    expect(re.test('a'.repeat(MAX_PATTERN_INPUT))).toBe(true)
    expect(re.test('a'.repeat(MAX_PATTERN_INPUT + 1))).toBe(false)
  })

  it('should refuse what it cannot run in linear time, and say why', () => {
    const refused: [string, RegExp][] = [
      ['^(a)\\1$', /backreferences/],
      ['^(?<x>a)\\k<x>$', /backreferences/],
      ['^(?=.*\\d)[a-z\\d]+$', /lookahead/],
      ['^(?!admin)\\w+$', /lookahead/],
      ['(?<=\\$)\\d+', /lookbehind/],
      ['(?<!x)y', /lookbehind/],
      ['\\p{Script_Extensions=Greek}', /\\p\{Script_Extensions=Greek\} is not supported/],
      ['\\p{Alpha}', /\\p\{Alpha\} is not supported/],
      ['\\p{Script=Grek}', /RE2 cannot compile it/],
      ['a{1001}', /invalid repeat count/],
      ['(?:a{100}){100}', /invalid repeat count/],
      ['^.{1,1000}$', /instructions, more than 1000/],
    ]
    for (const [pattern, reason] of refused) {
      expect(() => new LinearRegExp(pattern), pattern).toThrow(UnsupportedPatternError)
      expect(linearPatternProblem(pattern), pattern).toMatch(reason)
    }
  })

  it("should leave invalid regexes to JavaScript's SyntaxError", () => {
    expect(() => translatePattern('(')).toThrow(SyntaxError)
    expect(() => translatePattern('a{')).toThrow(SyntaxError) // u flag: no Annex B leniency
    expect(linearPatternProblem('(')).toBeNull()
  })
})

describe('Ajv regex engines', () => {
  it('registered: the linear engine only, refusing what it cannot run', () => {
    const re = linearRegExpEngine('^(a|a)*$', 'u')
    expect(re).toBeInstanceOf(LinearRegExp)
    expect(re.test('aaa')).toBe(true)
    expect(String(re)).toBe('/^(a|a)*$/u')
    expect(() => linearRegExpEngine('(a)\\1', 'u')).toThrow(UnsupportedPatternError)
  })

  it("stored: the linear engine whatever the pattern's size, and never JavaScript's backtracking one", () => {
    expect(storedRegExpEngine('^(a|a)*$', 'u')).toBeInstanceOf(LinearRegExp)
    expect(storedRegExpEngine('^.{1,1000}$', 'u')).toBeInstanceOf(LinearRegExp)
    // It fell back to RegExp, where `^(?=a)(a+)+$` froze a server for minutes; the compile fails instead.
    expect(() => storedRegExpEngine('^(a)\\1$', 'u')).toThrow(/backreferences/)
    expect(() => storedRegExpEngine('^(?=a)(a+)+$', 'u')).toThrow(/look/)
    expect(() => storedRegExpEngine('(', 'u')).toThrow(SyntaxError)
  })
})
