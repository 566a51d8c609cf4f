import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import type { TallyApp } from '../../../src/app/create-app.js'
import type { ApiKeyRole } from '../../../src/store/event-store.js'
import { createTestApp } from '../../integration/http-helpers.js'

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
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      if (keepLogs) lines.push(String(chunk))
      done()
    },
  })
  const logger = pino({ level: 'trace' }, sink) as unknown as FastifyBaseLogger
  const t = await createTestApp({ TALLY_LOG_LEVEL: 'trace', ...env }, { logger, dirPrefix: 'tally-rel-' })
  return { ...t, logs: () => lines.join('') }
}
