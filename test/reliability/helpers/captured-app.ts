import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { createApp, type TallyApp } from '../../../src/app/create-app.js'
import { loadConfig } from '../../../src/config/config.js'
import { createApiKeyRecord } from '../../../src/http/auth/api-keys.js'
import type { ApiKeyRole } from '../../../src/store/event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../../../src/store/project-types.js'
import { KEYS } from '../../integration/http-helpers.js'

/** An in-process app whose pino output (at trace, per-request lines included) is kept in `logs()`. */
export interface CapturedApp {
  app: TallyApp
  dir: string
  /** Secrets of project "other" by role. */
  otherKeys: Record<ApiKeyRole, string>
  logs(): string
  close(): Promise<void>
}

export async function createCapturedApp(
  env: Record<string, string> = {},
  options: { keepLogs?: boolean } = {},
): Promise<CapturedApp> {
  const keepLogs = options.keepLogs ?? true
  const dir = mkdtempSync(join(tmpdir(), 'tally-rel-'))
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      if (keepLogs) lines.push(String(chunk))
      done()
    },
  })
  const logger = pino({ level: 'trace' }, sink) as unknown as FastifyBaseLogger
  const config = loadConfig({
    TALLY_DATABASE_URL: `sqlite:${join(dir, 'tally.db')}`,
    TALLY_LOG_LEVEL: 'trace',
    TALLY_WRITE_KEY: KEYS.write,
    TALLY_READ_KEY: KEYS.read,
    TALLY_ADMIN_KEY: KEYS.admin,
    TALLY_PORT: '0',
    ...env,
  })
  const app = await createApp(config, { logger })
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
    dir,
    otherKeys,
    logs: () => lines.join(''),
    async close() {
      await app.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
