import { describe, expect, it } from 'vitest'
import { serveCommand } from './serve.js'

async function serveOutput(argv: string[], env: Record<string, string>) {
  const out: string[] = []
  const err: string[] = []
  const code = await serveCommand(argv, {
    env: { TALLY_LOG_LEVEL: 'silent', TALLY_DATABASE_URL: 'sqlite::memory:', TALLY_PORT: '0', ...env },
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('tally serve configuration errors', () => {
  it.each(['1.2.3.4/99', '::::', '999.999.999.999'])(
    'should refuse TALLY_TRUST_PROXY=%s with config_invalid and no stack trace',
    async (value) => {
      const { code, err } = await serveOutput([], { TALLY_TRUST_PROXY: value })
      expect(code).toBe(1)
      expect(err).toMatch(/config_invalid/)
      expect(err).toMatch(/TALLY_TRUST_PROXY/)
      expect(err).not.toMatch(/TypeError|\n\s+at /)
    },
  )
})
