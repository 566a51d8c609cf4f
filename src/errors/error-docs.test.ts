import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from './codes.js'
import { ISSUE_CODES } from './issue-codes.js'

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')

/** The codes in the first column of the table under `heading`. */
function tableCodes(heading: string): string[] {
  const start = doc.indexOf(`## ${heading}`)
  expect(start, `docs/errors.md has a "## ${heading}" section`).toBeGreaterThanOrEqual(0)
  const section = doc.slice(start).split('\n## ')[0]
  return [...section.matchAll(/^\|\s*`([a-z_]+)`\s*\|/gm)].map((m) => m[1])
}

describe('docs/errors.md', () => {
  it('should document every request error code, with its HTTP status, and no unknown code', () => {
    const documented = tableCodes('Request error codes')
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort())
    for (const [code, { statusCode }] of Object.entries(ERROR_CODES)) {
      expect(doc).toMatch(new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*${statusCode}\\s*\\|`, 'm'))
    }
  })

  it('should document every event issue code, and no unknown code', () => {
    expect([...tableCodes('Event issue codes')].sort()).toEqual([...ISSUE_CODES].sort())
  })
})
