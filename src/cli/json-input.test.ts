import { describe, expect, it } from 'vitest'
import { type InputItem, readJsonItems } from './json-input.js'

async function items(chunks: string[], max = 1000): Promise<InputItem[]> {
  const out: InputItem[] = []
  for await (const item of readJsonItems(
    (async function* () {
      for (const c of chunks) yield Buffer.from(c)
    })(),
    max,
  ))
    out.push(item)
  return out
}

/** Every way of cutting `text` into two chunks gives the same items. */
async function expectSplitInvariant(text: string, max = 1000) {
  const whole = await items([text], max)
  for (let i = 1; i < text.length; i++) {
    const bytes = Buffer.from(text)
    const parts = [bytes.subarray(0, i).toString('latin1'), bytes.subarray(i).toString('latin1')]
    const split: InputItem[] = []
    for await (const item of readJsonItems(
      (async function* () {
        for (const p of parts) yield Buffer.from(p, 'latin1')
      })(),
      max,
    ))
      split.push(item)
    expect(split, `split at ${i}`).toEqual(whole)
  }
  return whole
}

describe('readJsonItems', () => {
  it('should split NDJSON lines and keep line numbers, whatever the chunking', async () => {
    const got = await expectSplitInvariant('{"a":1}\n\n{"b":"é"}\r\n{"c":3}')
    expect(got).toEqual([
      { line: 1, text: '{"a":1}', byteSize: 7 },
      { line: 3, text: '{"b":"é"}', byteSize: 10 },
      { line: 4, text: '{"c":3}', byteSize: 7 },
    ])
  })

  it('should split a JSON array on top-level commas only, whatever the chunking', async () => {
    const got = await expectSplitInvariant(' [ {"a":[1,2],"s":"x,]}\\"y"} ,\n"str", 3 ]\n')
    expect(got.map((i) => [i.index, i.line, i.text])).toEqual([
      [0, 1, '{"a":[1,2],"s":"x,]}\\"y"}'],
      [1, 2, '"str"'],
      [2, 2, '3'],
    ])
  })

  it('should report oversized items without their text', async () => {
    expect(await items(['{"a":"' + 'x'.repeat(50) + '"}\n{}'], 20)).toEqual([
      { line: 1, text: null, byteSize: 58 },
      { line: 2, text: '{}', byteSize: 2 },
    ])
    expect(await items(['[{"a":"' + 'x'.repeat(50) + '"},{}]'], 20)).toMatchObject([
      { index: 0, text: null },
      { index: 1, text: '{}' },
    ])
  })

  it('should flag an array that never closes and text after it', async () => {
    expect(await items(['[{"a":1}'])).toMatchObject([
      { index: 0, text: '{"a":1}', problem: expect.any(String) },
    ])
    expect(await items(['[{"a":1},'])).toMatchObject([
      { index: 0, text: '{"a":1}' },
      { index: 1, text: null, problem: expect.stringMatching(/not closed/) },
    ])
    expect(await items(['[1] x'])).toMatchObject([
      { index: 0, text: '1' },
      { text: null, problem: expect.stringMatching(/after the JSON array/) },
    ])
    expect(await items(['[]'])).toEqual([])
  })

  it('should name the line where text after the array starts, and say how the input was read (it named the end)', async () => {
    // An NDJSON file whose first line happens to be an array (a trial).
    const file = '[{"a":1},{"a":2}]\n{"a":3}\n{"a":4}\n[{"a":5}]\n'
    const out = await items([file])
    expect(out.at(-1)).toMatchObject({
      line: 2,
      text: null,
      problem: expect.stringMatching(/read as one JSON array.*NDJSON/),
    })
    await expectSplitInvariant(file)
  })

  it('should refuse an empty element or a trailing comma, as JSON.parse does (a lost element hides there)', async () => {
    expect(await expectSplitInvariant('[{"a":1},,{"b":2}]')).toMatchObject([
      { index: 0, text: '{"a":1}' },
      { index: 1, text: null, problem: expect.stringMatching(/empty array element/) },
      { index: 2, text: '{"b":2}' },
    ])
    expect(await items(['[,{"a":1}]'])).toMatchObject([
      { index: 0, text: null, problem: expect.stringMatching(/empty array element/) },
      { index: 1, text: '{"a":1}' },
    ])
    expect(await items(['[{"a":1},]'])).toMatchObject([
      { index: 0, text: '{"a":1}' },
      { text: null, problem: expect.stringMatching(/trailing comma/) },
    ])
    expect((await items(['[,,,]'])).every((i) => i.text === null && i.problem !== undefined)).toBe(true)
    expect(await items(['[ {"a":1} , {"b":2} ]'])).toMatchObject([{ text: '{"a":1}' }, { text: '{"b":2}' }])
  })

  it('should refuse text that is not UTF-8 instead of storing U+FFFD in its place', async () => {
    const latin1 = Buffer.from('{"name":"Caf\xe9"}\n{"ok":1}\n', 'latin1')
    const out: InputItem[] = []
    for await (const item of readJsonItems(
      (async function* () {
        yield latin1
      })(),
      1000,
    ))
      out.push(item)
    expect(out).toEqual([
      { line: 1, text: null, byteSize: 15, problem: expect.stringMatching(/not valid UTF-8/) },
      { line: 2, text: '{"ok":1}', byteSize: 8 },
    ])
  })
})
