import { describe, expect, it } from 'vitest'
import type { BootstrapResult } from '../../app/bootstrap.js'
import { ConfigSchema, ENV_NAMES } from '../../config/config.js'
import { formatStartBanner, serveCommand } from './serve.js'

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
      expect(code).toBe(2)
      expect(err).toMatch(/config_invalid/)
      expect(err).toMatch(/TALLY_TRUST_PROXY/)
      expect(err).not.toMatch(/TypeError|\n\s+at /)
    },
  )
})

describe('tally serve: an address it cannot listen on', () => {
  it('should name the variable to change, with config_invalid and exit 2 (port in use, unknown host)', async () => {
    const { createServer } = await import('node:net')
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()))
    const port = String((taken.address() as { port: number }).port)
    try {
      const inUse = await serveOutput([], { TALLY_PORT: port, TALLY_HOST: '127.0.0.1' })
      expect(inUse.code).toBe(2)
      expect(inUse.err).toMatch(/port is in use.*TALLY_PORT.*\(config_invalid\)/)
      // The keys start-up created on the way are shown (they were stored, never printed, and lost).
      expect(inUse.err).toMatch(/keys were created before the server failed to start/)
      for (const role of ['write', 'read', 'admin'])
        expect(inUse.err).toMatch(new RegExp(`${role}\\s+tly_${role[0]}_`))
      const withEnvKeys = await serveOutput([], {
        TALLY_PORT: port,
        TALLY_HOST: '127.0.0.1',
        TALLY_WRITE_KEY: 'tly_w_from-env-0123456789',
        TALLY_READ_KEY: 'tly_r_from-env-0123456789',
        TALLY_ADMIN_KEY: 'tly_a_from-env-0123456789',
      })
      expect(withEnvKeys.err).not.toMatch(/keys were created/) // the operator's own: nothing to show
    } finally {
      taken.close()
    }
    const noHost = await serveOutput([], { TALLY_HOST: 'no-such-host.invalid' })
    expect(noHost.code).toBe(2)
    expect(noHost.err).toMatch(/TALLY_HOST.*\(config_invalid\)/)
  })
})

describe('tally serve banner and help', () => {
  const bootstrap = {
    project: { id: 'default', name: 'Default', createdAt: '2026-01-01T00:00:00.000Z', settings: {} },
    projectCreated: false,
    keys: [{ role: 'admin', prefix: 'tly_a_abcd', source: 'existing' }],
  } as unknown as BootstrapResult
  const url = 'http://127.0.0.1:8080'

  it('should advertise the dashboard and API docs only where they are served', () => {
    const full = formatStartBanner(url, 'sqlite::memory:', bootstrap, { ingestOnly: false, docs: true })
    expect(full).toContain(`Dashboard: ${url}/`)
    expect(full).toContain(`API docs: ${url}/docs`)
    const noDocs = formatStartBanner(url, 'sqlite::memory:', bootstrap, { ingestOnly: false, docs: false })
    expect(noDocs).toContain(`Dashboard: ${url}/`)
    expect(noDocs).not.toContain('/docs')
    const ingest = formatStartBanner(url, 'sqlite::memory:', bootstrap, { ingestOnly: true, docs: true })
    expect(ingest).not.toContain('Dashboard')
    expect(ingest).not.toContain('/docs')
    expect(ingest).toMatch(/ingest-only/i)
  })

  it('should not print a key the operator set in the environment (it went to the logs on every start)', () => {
    const withEnvKey = {
      ...bootstrap,
      keys: [
        { role: 'read', secret: 'tly_r_secret-from-vault-0123', prefix: 'tly_r_secr', source: 'environment' },
      ],
    } as unknown as BootstrapResult
    const banner = formatStartBanner(url, 'sqlite::memory:', withEnvKey)
    expect(banner).not.toContain('tly_r_secret-from-vault-0123')
    expect(banner).toContain('tly_r_secr…  (from environment)')
  })

  it('should list every environment variable with its default in --help', async () => {
    const { code, out } = await serveOutput(['--help'], {})
    expect(code).toBe(0)
    const missing = Object.values(ENV_NAMES).filter((name) => !out.includes(name))
    expect(missing).toEqual([])
    for (const [key, schema] of Object.entries(ConfigSchema.properties)) {
      const def = (schema as { default?: unknown }).default
      if (def === undefined || def === '') continue
      const line = out.split('\n').find((l) => l.includes(`${ENV_NAMES[key as keyof typeof ENV_NAMES]} `))
      expect(line, key).toContain(String(def))
    }
  })
})
