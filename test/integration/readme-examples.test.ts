import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, KEYS, type TestApp } from './http-helpers.js'

const run = promisify(execFile)

/**
 * The README's examples are the first thing a user tries. Every ```sh block preceded by
 * `<!-- readme:run -->` is run here, as written, against a real server; `curl` fails on any HTTP error.
 */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const blocks = [...readme.matchAll(/<!-- readme:run -->\s*```sh\n([\s\S]*?)```/g)].map((m) => m[1])

/** What an example's output must contain, for examples whose point is a result, not just a 2xx. */
const PROMISED_OUTPUT: [command: string, output: string][] = [
  // A numeric where-value once matched nothing through the JSON route (bodies were type-coerced).
  ['"op": "gte", "value": 40', '"name":"Order Completed"'],
]

describe('README examples', () => {
  let t: TestApp
  let url: string

  beforeAll(async () => {
    t = await createTestApp()
    url = await t.app.listen()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('should have examples to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5)
  })

  for (const [i, block] of blocks.entries()) {
    it(`should run example ${i + 1} (${block.split('\n')[0].slice(0, 60)}…) with 2xx answers`, async () => {
      const script = [
        'set -euo pipefail',
        // Every request must succeed: curl exits non-zero on a 4xx/5xx and prints the error body.
        'curl() { command curl --fail-with-body --max-time 20 "$@"; echo; }',
        block.replaceAll('http://127.0.0.1:8080', url.replace(/\/$/, '')),
      ].join('\n')
      const { stdout } = await run('bash', ['-c', script], {
        env: {
          PATH: process.env.PATH,
          TALLY_WRITE_KEY: KEYS.write,
          TALLY_READ_KEY: KEYS.read,
          TALLY_ADMIN_KEY: KEYS.admin,
        },
      })
      expect(stdout.trim().length).toBeGreaterThan(0)
      for (const [command, output] of PROMISED_OUTPUT)
        if (block.includes(command)) expect(stdout).toContain(output)
    })
  }

  it('should leave what the examples promise: everything of u1 erased, the anonymous LCP kept', async () => {
    const page = await t.app.store.queryEvents('default', {})
    expect(page.events.map((e) => e.name)).toEqual(['LCP'])
    // The rejected `{"type":"track","userId":"u1"}` was a failed event of u1: erased with the rest.
    const failed = await t.app.store.listFailedEvents('default', {})
    expect(failed.failedEvents).toEqual([])
  })
})
