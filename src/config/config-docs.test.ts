import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ENV_NAMES } from './config.js'

describe('configuration documentation', () => {
  it('should list every environment variable in the README configuration table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const table = readme.slice(readme.indexOf('## Configuration'))
    const missing = Object.values(ENV_NAMES).filter((name) => !table.includes(`\`${name}\``))
    expect(missing).toEqual([])
  })
})
