import { afterEach, describe, expect, it } from 'vitest'
import { createApp, type TallyApp } from '../app/create-app.js'
import { loadConfig } from '../config/config.js'

const WRITE = 'ingest_only_write_key_0123456789'
const READ = 'ingest_only_read_key_01234567890'

describe('registerIngestOnly', () => {
  let app: TallyApp | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  async function start(ingestOnly: boolean) {
    app = await createApp(
      loadConfig(
        {
          TALLY_DATABASE_URL: 'sqlite::memory:',
          TALLY_WRITE_KEY: WRITE,
          TALLY_READ_KEY: READ,
          TALLY_LOG_LEVEL: 'silent',
          TALLY_SQLITE_WRITE_WORKER: 'false',
        },
        { ingestOnly },
      ),
    )
    return app.server
  }

  it('should keep ingest, health and metrics and answer 404 not_found for queries when ingest-only', async () => {
    const server = await start(true)
    const ingest = await server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { authorization: `Bearer ${WRITE}` },
      payload: { type: 'track', name: 'Signed Up', messageId: 'm1' },
    })
    expect(ingest.statusCode).toBe(200)
    expect((await server.inject('/healthz')).statusCode).toBe(200)
    for (const url of ['/api/v1/events', '/api/v1/stats/event-counts', '/api/v1/project']) {
      const res = await server.inject({ url, headers: { authorization: `Bearer ${READ}` } })
      expect(res.statusCode, url).toBe(404)
      expect(res.json().error.code).toBe('not_found')
    }
  })

  it('should serve queries as usual when not ingest-only', async () => {
    const server = await start(false)
    const res = await server.inject({ url: '/api/v1/events', headers: { authorization: `Bearer ${READ}` } })
    expect(res.statusCode).toBe(200)
  })
})
