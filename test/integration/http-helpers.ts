import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { createApp, type TallyApp } from '../../src/app/create-app.js'
import { loadConfig } from '../../src/config/config.js'
import { createApiKeyRecord } from '../../src/http/auth/api-keys.js'
import type { ApiKeyRole } from '../../src/store/event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../../src/store/project-types.js'

/** The default project's keys in every test app (set through TALLY_*_KEY, as an operator would). */
export const KEYS = {
  write: 'tly_w_test-write-key-0123456789',
  read: 'tly_r_test-read-key-01234567890',
  admin: 'tly_a_test-admin-key-0123456789',
} as const satisfies Record<ApiKeyRole, string>

export interface TestApp {
  app: TallyApp
  /** Keys of a second project, to prove isolation. */
  otherKeys: Record<ApiKeyRole, string>
  dir: string
  close(): Promise<void>
}

/** A fresh app on SQLite in a temp dir, with the default project (KEYS) and project "other". */
export async function createTestApp(
  env: Record<string, string> = {},
  options: { logger?: FastifyBaseLogger; dirPrefix?: string } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), options.dirPrefix ?? 'tally-http-'))
  const config = loadConfig({
    TALLY_DATABASE_URL: `sqlite:${join(dir, 'tally.db')}`,
    TALLY_LOG_LEVEL: 'silent',
    TALLY_WRITE_KEY: KEYS.write,
    TALLY_READ_KEY: KEYS.read,
    TALLY_ADMIN_KEY: KEYS.admin,
    TALLY_PORT: '0',
    // A loaded CI machine (parallel test files) can stall the event loop past the 1 s default and shed
    // a test's request with 503; the shedding has tests of its own (test/reliability/overload.test.ts).
    TALLY_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  })
  const app = await createApp(config, options.logger ? { logger: options.logger } : {})
  await app.store.createProject({
    id: 'other',
    name: 'Other',
    createdAt: new Date().toISOString(),
    settings: { ...DEFAULT_PROJECT_SETTINGS },
  })
  const otherKeys = {} as Record<ApiKeyRole, string>
  for (const role of ['write', 'read', 'admin'] as const) {
    const { secret, record } = createApiKeyRecord('other', role)
    await app.store.saveApiKey(record)
    otherKeys[role] = secret
  }
  return {
    app,
    otherKeys,
    dir,
    async close() {
      await app.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

export function trackEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'track',
    name: 'Order Completed',
    userId: 'user-1',
    properties: { total: 42, currency: 'EUR' },
    ...overrides,
  }
}
