import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg_ from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../../../test/helpers/dialects.js'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { bearer, createTestApp, KEYS } from '../../../test/integration/http-helpers.js'
import type { AnalyticsEvent } from '../../schema/analytics-event.js'
import { createStore } from '../../store/create-store.js'

/**
 * Export → import is a backup and restore, and the way from SQLite to PostgreSQL: `tally import` of what
 * `tally export` (or GET /api/v1/events/export) wrote stores the same events — ids, messageIds, times,
 * enrichment and processing fields — instead of rejecting every line as a malformed new event.
 */

const now = Date.now()
const iso = (msAgo: number) => new Date(now - msAgo).toISOString()

/** New events of every kind the trial had, ingested through the pipeline into the source. */
const SOURCE_EVENTS = [
  {
    type: 'identify',
    userId: 'u1',
    anonymousId: 'a1',
    messageId: 'identify-1',
    timestamp: iso(60_000),
    traits: { email: 'ada@example.org', plan: 'pro', seats: 3 },
    context: {
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Firefox/120.0',
    },
  },
  {
    type: 'performance',
    name: 'LCP',
    anonymousId: 'a1',
    messageId: 'perf-1',
    timestamp: iso(50_000),
    properties: { value: 2712.5, navigationType: 'navigate', id: 'v4-1' },
  },
  {
    type: 'api_request',
    anonymousId: 'server',
    messageId: 'api-1',
    timestamp: iso(40_000),
    sentAt: iso(39_000),
    properties: { method: 'GET', route: '/users/:id', path: '/users/7', statusCode: 503, durationMs: 12.5 },
  },
  {
    type: 'page',
    name: 'Pricing',
    anonymousId: 'a1',
    messageId: 'page-1',
    timestamp: iso(30_000),
    properties: { section: 'plans' },
    context: {
      // A UTM value longer than the client's 1,024-character campaign field: enrichment derives it anyway.
      page: {
        url: `https://shop.example/pricing?utm_source=news&utm_medium=email&utm_term=${'t'.repeat(2000)}`,
        referrer: 'https://www.google.com/search?q=tally',
        title: 'Pricing',
      },
      campaign: { name: 'spring' },
      locale: 'en-GB',
    },
  },
  // userId null in the export; a page URL that is not one: a violation recorded by enrichment.
  {
    type: 'track',
    name: 'Clicked',
    anonymousId: 'a2',
    timestamp: iso(20_000),
    properties: { nested: { list: [1, 'two', null, { three: 3 }], empty: {} }, big: 1e21, neg: -0.5 },
    context: { page: { url: 'not a url' } },
  },
  { type: 'alias', userId: 'u2', previousId: 'a2', messageId: 'alias-1', timestamp: iso(10_000) },
  { type: 'group', userId: 'u2', groupId: 'g1', traits: { name: 'Acme' }, messageId: 'group-1' },
]

function parseLines(text: string): AnalyticsEvent[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l))
}

async function exportAll(url: string, project = 'default'): Promise<AnalyticsEvent[]> {
  const run = await runCli(['export', '--db', url, '--project', project])
  expect(run.code, run.stderr).toBe(0)
  return parseLines(run.stdout)
}

async function failedCount(url: string, project = 'default'): Promise<number> {
  const run = await runCli(['failed', 'list', '--db', url, '--project', project])
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout).failedEvents.length
}

/** A source database with the events above, a few of them processed by a consumer. */
async function seedSource(url: string, project = 'default'): Promise<AnalyticsEvent[]> {
  if (project !== 'default') expect((await runCli(['projects', 'create', project, '--db', url])).code).toBe(0)
  const run = await runCli(['import', '-', '--db', url, '--project', project], {
    stdin: ndjson(...SOURCE_EVENTS),
  })
  expect(run.code, run.stderr).toBe(0)
  const events = await exportAll(url, project)
  const store = await createStore(url)
  try {
    await store.updateEvent(project, events[0].id, {
      status: 'processed',
      attempts: 1,
      tags: ['crm', 'synced'],
    })
    await store.updateEvent(project, events[2].id, {
      status: 'failed',
      attempts: 3,
      error: 'warehouse timeout',
    })
    await store.updateEvent(project, events[3].id, { status: 'processing' })
  } finally {
    await store.close()
  }
  return exportAll(url, project)
}

async function statsOverview(url: string): Promise<unknown> {
  const run = await runCli([
    'stats',
    'overview',
    '--db',
    url,
    '--from',
    new Date(now - 3_600_000).toISOString(),
    '--to',
    new Date(now + 3_600_000).toISOString(),
  ])
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout)
}

describe('tally import of an export (restore)', () => {
  const source = tempDatabase('tally-restore-src-')
  let exported: AnalyticsEvent[]
  let exportFile: string

  beforeAll(async () => {
    exported = await seedSource(source.url)
    exportFile = join(source.dir, 'export.ndjson')
    writeFileSync(exportFile, ndjson(...exported))
  })
  afterAll(() => source.remove())

  it('should have a source with what the trial exported: server fields, nulls, enrichment', () => {
    expect(exported).toHaveLength(SOURCE_EVENTS.length)
    const byType = Object.fromEntries(exported.map((e) => [e.type, e]))
    expect(byType.identify).toMatchObject({ properties: {}, status: 'processed', tags: ['crm', 'synced'] })
    expect(byType.track).toMatchObject({ userId: null, messageId: expect.stringMatching(/^import-/) })
    expect(byType.track.violations).toEqual([expect.objectContaining({ code: 'invalid_url' })])
    expect((byType.page.context.campaign as { term: string }).term).toHaveLength(2000)
    expect(byType.page.sessionId).toEqual(expect.any(String))
  })

  it('should store the same events into a fresh SQLite database, and nothing more the second time', async () => {
    const target = tempDatabase('tally-restore-dst-')
    try {
      const errors = join(target.dir, 'errors.ndjson')
      const run = await runCli(['import', exportFile, '--db', target.url, '--errors', errors])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toMatch(
        /^tally import: 7 events — 7 stored, 0 duplicates, 0 rejected; 7 read as exported events \(/,
      )
      expect(readFileSync(errors, 'utf8')).toBe('')
      expect(await exportAll(target.url)).toEqual(exported)
      expect(await failedCount(target.url)).toBe(0)
      // The statistics see them too (the rollups are written with the events).
      expect(await statsOverview(target.url)).toEqual(await statsOverview(source.url))

      const again = await runCli(['import', exportFile, '--db', target.url])
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).toMatch(/7 events — 0 stored, 7 duplicates, 0 rejected; 7 read as exported events/)
      expect(await exportAll(target.url)).toEqual(exported)
      expect(await failedCount(target.url)).toBe(0)
    } finally {
      target.remove()
    }
  })

  it('should take the export newest first (the HTTP default) as well, and a JSON array, with --restore', async () => {
    const target = tempDatabase('tally-restore-dst-')
    try {
      const reversed = [...exported].reverse()
      const run = await runCli(['import', '-', '--restore', '--db', target.url], {
        stdin: JSON.stringify(reversed),
      })
      expect(run.code, run.stderr).toBe(0)
      expect(await exportAll(target.url)).toEqual(exported)
    } finally {
      target.remove()
    }
  })

  it('should restore what GET /api/v1/events/export wrote (newest first by default)', async () => {
    const t = await createTestApp({}, { dirPrefix: 'tally-restore-http-' })
    const target = tempDatabase('tally-restore-dst-')
    try {
      const call = t.app.server.inject.bind(t.app.server)
      const ingest = await call({
        method: 'POST',
        url: '/api/v1/events',
        headers: { ...bearer(KEYS.write), 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0' },
        payload: { events: SOURCE_EVENTS },
      })
      expect(ingest.statusCode, ingest.body).toBe(200)
      const newestFirst = await call({
        url: '/api/v1/events/export?format=ndjson',
        headers: bearer(KEYS.read),
      })
      expect(newestFirst.statusCode).toBe(200)
      const oldestFirst = await call({
        url: '/api/v1/events/export?format=ndjson&order=asc',
        headers: bearer(KEYS.read),
      })
      expect(parseLines(newestFirst.body)).toEqual(parseLines(oldestFirst.body).reverse())

      const run = await runCli(['import', '-', '--db', target.url], { stdin: newestFirst.body })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toMatch(/7 events — 7 stored, 0 duplicates, 0 rejected; 7 read as exported events/)
      // Field by field, ids included; and `tally export` writes what the HTTP export wrote with order=asc.
      const restored = await runCli(['export', '--db', target.url])
      expect(restored.stdout).toBe(oldestFirst.body)
    } finally {
      await t.close()
      target.remove()
    }
  })

  it("should keep each line's project unless --project overrides it", async () => {
    const src = tempDatabase('tally-restore-src-')
    const target = tempDatabase('tally-restore-dst-')
    try {
      const shop = await seedSource(src.url, 'shop')
      const file = join(target.dir, 'shop.ndjson')
      writeFileSync(file, ndjson(...shop))

      // The project must exist in the target: the error says how to make it, and nothing is stored.
      const missing = await runCli(['import', file, '--db', target.url])
      expect(missing.code).toBe(1)
      expect(missing.stderr).toMatch(
        /project "shop" does not exist \(line 1\) — create it with "tally projects create shop", or restore into another project with --project \(not_found\)\n$/,
      )
      expect((await runCli(['projects', 'create', 'shop', '--db', target.url])).code).toBe(0)
      const kept = await runCli(['import', file, '--db', target.url])
      expect(kept.code, kept.stderr).toBe(0)
      expect(await exportAll(target.url, 'shop')).toEqual(shop)
      expect(await exportAll(target.url, 'default')).toEqual([])

      // --project puts them in another project (same ids, messageIds, everything else) — of another
      // database: ids are unique across projects, so the same database cannot hold both copies.
      const other = tempDatabase('tally-restore-dst-')
      try {
        const moved = await runCli(['import', file, '--db', other.url, '--project', 'default'])
        expect(moved.code, moved.stderr).toBe(0)
        expect(await exportAll(other.url, 'default')).toEqual(
          shop.map((e) => ({ ...e, projectId: 'default' })),
        )
      } finally {
        other.remove()
      }
      const clash = await runCli(['import', file, '--db', target.url, '--project', 'default'])
      expect(clash.code).toBe(1)
      expect(clash.stderr).toMatch(
        new RegExp(
          `line 1: event id ${shop[0].id} is stored already, as messageId "${shop[0].messageId}" of project "shop"; a restore keeps ids.* \\(conflict\\)\\n$`,
        ),
      )
      expect(await exportAll(target.url, 'default')).toEqual([])
    } finally {
      src.remove()
      target.remove()
    }
  })

  it('should stop at an id conflict: the batches after it are not written, and the store closes cleanly', async () => {
    const target = tempDatabase('tally-restore-dst-')
    try {
      expect((await runCli(['import', exportFile, '--db', target.url])).code).toBe(0)
      const clash = { ...exported[0], messageId: 'another-message' } // a stored id, another event
      const later = { ...exported[1], id: '01900000-0000-7000-8000-000000000001', messageId: 'later' }
      const run = await runCli(['import', '-', '--batch', '1', '--db', target.url], {
        stdin: ndjson(clash, later, {
          ...later,
          id: '01900000-0000-7000-8000-000000000002',
          messageId: 'later-2',
        }),
      })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(
        new RegExp(`line 1: event id ${exported[0].id} is stored already.*\\(conflict\\)\\n$`),
      )
      expect(await exportAll(target.url)).toEqual(exported)
    } finally {
      target.remove()
    }
  })

  it('should report a bad stored event like any rejected line, without keeping it as a failed event', async () => {
    const target = tempDatabase('tally-restore-dst-')
    try {
      const [good, second] = exported
      const errors = join(target.dir, 'errors.ndjson')
      const input = ndjson(
        good,
        { ...second, status: 'lost', attempts: -1, receivedAt: 'yesterday' },
        '{"id": "x", "projectId": ', // not JSON
        { ...exported[2], extra: true, userId: 7 },
        { type: 'track', name: 'New', userId: 'u9', messageId: 'new-1' }, // a new event, enriched as usual
      )
      const run = await runCli(['import', '-', '--db', target.url, '--errors', errors], { stdin: input })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(
        /5 events — 2 stored, 0 duplicates, 2 rejected, 1 unreadable; 3 read as exported events/,
      )
      const lines = readFileSync(errors, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines.map((l) => l.line)).toEqual([2, 3, 4])
      expect(lines[0].errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: '/status', code: 'enum' }),
          expect.objectContaining({ path: '/attempts', code: 'out_of_range' }),
          expect.objectContaining({ path: '/receivedAt', code: 'format' }),
        ]),
      )
      expect(lines[1].errors[0].code).toBe('invalid_json')
      expect(lines[2].errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: '/extra', code: 'unknown_field' }),
          expect.objectContaining({ path: '/userId', code: 'type' }),
        ]),
      )
      // Not a client event a replay could fix: reported, not kept.
      expect(await failedCount(target.url)).toBe(0)
      const stored = await exportAll(target.url)
      expect(stored.map((e) => e.messageId)).toEqual([good.messageId, 'new-1'])
      expect(stored[0]).toEqual(good)
      expect(stored[1]).toMatchObject({ type: 'track', status: 'received', projectId: 'default' })
      expect(stored[1].id).not.toBe(good.id)
    } finally {
      target.remove()
    }
  })

  it('should read a line as a stored event by its server fields, or every line with --restore', async () => {
    const target = tempDatabase('tally-restore-dst-')
    try {
      // Without `status`, a line is not recognised: it goes through the pipeline and is refused there.
      const { status: _status, ...partial } = exported[1]
      const detected = await runCli(['import', '-', '--db', target.url], { stdin: ndjson(partial) })
      expect(detected.code).toBe(1)
      expect(detected.stderr).toMatch(/1 rejected\b(?!.*restored)/)
      expect(await failedCount(target.url)).toBe(1)

      const errors = join(target.dir, 'errors.ndjson')
      const forced = await runCli(['import', '-', '--restore', '--db', target.url, '--errors', errors], {
        stdin: ndjson(partial, { type: 'track', name: 'New', userId: 'u9' }),
      })
      expect(forced.code).toBe(1)
      expect(forced.stderr).toMatch(
        /2 events — 0 stored, 0 duplicates, 2 rejected; 2 read as exported events/,
      )
      const lines = readFileSync(errors, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines[0].errors).toEqual([
        { path: '/status', code: 'required', message: '"status" is required' },
      ])
      expect(lines[1].errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: '/id', code: 'required' })]),
      )
      expect(await failedCount(target.url)).toBe(1) // still only the one from the first run
    } finally {
      target.remove()
    }
  })

  it('should take a stored event larger than the new-event limit, and still refuse such a new event', async () => {
    const target = tempDatabase('tally-restore-dst-')
    try {
      const big = { ...exported[4], properties: { blob: 'x'.repeat(40_000) } } // 32 KB < line < 128 KB
      const errors = join(target.dir, 'errors.ndjson')
      const run = await runCli(['import', '-', '--db', target.url, '--errors', errors], {
        stdin: ndjson(big, {
          type: 'track',
          name: 'Big',
          userId: 'u1',
          properties: { blob: 'x'.repeat(40_000) },
        }),
      })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(
        /2 events — 1 stored, 0 duplicates, 0 rejected, 1 unreadable; 1 read as exported/,
      )
      const [line] = readFileSync(errors, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(line).toMatchObject({ line: 2, errors: [{ code: 'too_large', expected: '<= 32768 bytes' }] })
      expect(await exportAll(target.url)).toEqual([big])
      // Past 4x the limit a stored event is too large as well.
      const huge = {
        ...exported[4],
        messageId: 'huge',
        id: 'huge',
        properties: { blob: 'x'.repeat(140_000) },
      }
      const refused = await runCli(['import', '-', '--restore', '--db', target.url, '--errors', errors], {
        stdin: ndjson(huge),
      })
      expect(refused.code).toBe(1)
      expect(JSON.parse(readFileSync(errors, 'utf8')).errors[0]).toMatchObject({
        code: 'too_large',
        expected: '<= 131072 bytes',
      })
    } finally {
      target.remove()
    }
  })

  it('should refuse flags that do not go with --restore', async () => {
    const target = tempDatabase('tally-restore-dst-')
    try {
      const segment = await runCli(['import', '-', '--restore', '--segment', '--db', target.url])
      expect(segment.code).toBe(2)
      expect(segment.stderr).toMatch(/--restore and --segment exclude each other/)
      const fresh = await runCli(['import', '-', '--restore', '--fresh-ids', '--db', target.url])
      expect(fresh.code).toBe(2)
      expect(fresh.stderr).toMatch(/--fresh-ids does not apply to --restore/)
      // With --segment nothing is read as a stored event: a Segment export has receivedAt and projectId too.
      // The stored event's own fields (id, status, …) are not Segment fields: dropped, each noted.
      const seg = await runCli(['import', '-', '--segment', '--db', target.url], {
        stdin: ndjson(exported[0]),
      })
      expect(seg.code).toBe(0)
      expect(seg.stderr).not.toMatch(/restored/)
      const stored = await runCli(['export', '--db', target.url])
      const [event] = stored.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(event.id).not.toBe(exported[0].id)
      expect(event.violations).toContainEqual(
        expect.objectContaining({ path: '/status', code: 'unknown_field' }),
      )
    } finally {
      target.remove()
    }
  })
})

const pgReachable = await isPostgresReachable()

describe.runIf(pgReachable || IN_CI)('postgres: restore a SQLite export', () => {
  it('should store the same events in PostgreSQL, and nothing more the second time', async () => {
    const source = tempDatabase('tally-restore-src-')
    const pg = await createFreshPostgresDatabase()
    try {
      const exported = await seedSource(source.url)
      const file = join(source.dir, 'export.ndjson')
      writeFileSync(file, ndjson(...exported))
      const run = await runCli(['import', file, '--db', pg.url])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toMatch(/7 events — 7 stored, 0 duplicates, 0 rejected; 7 read as exported events/)
      expect(await exportAll(pg.url)).toEqual(exported)
      expect(await failedCount(pg.url)).toBe(0)
      expect(await statsOverview(pg.url)).toEqual(await statsOverview(source.url))
      // The import refreshed the planner's statistics (a bulk load without them made exports 6x slower).
      const client = new pg_.Client({ connectionString: pg.url })
      await client.connect()
      try {
        const analyzed = await client.query(
          `select last_analyze from pg_stat_user_tables where relname = 'events'`,
        )
        expect(analyzed.rows[0].last_analyze).not.toBeNull()
      } finally {
        await client.end()
      }

      const again = await runCli(['import', file, '--db', pg.url])
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).toMatch(/0 stored, 7 duplicates, 0 rejected/)
      expect(await exportAll(pg.url)).toEqual(exported)

      // And back: PostgreSQL → SQLite gives the same events again.
      const back = tempDatabase('tally-restore-dst-')
      try {
        const pgExport = join(back.dir, 'pg.ndjson')
        expect((await runCli(['export', '--db', pg.url, '--output', pgExport])).code).toBe(0)
        expect((await runCli(['import', pgExport, '--db', back.url])).code).toBe(0)
        expect(await exportAll(back.url)).toEqual(exported)
      } finally {
        back.remove()
      }
    } finally {
      await pg.drop()
      source.remove()
    }
  })
})
