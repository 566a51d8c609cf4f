import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { buildStatsParams } from './stats.js'

describe('buildStatsParams', () => {
  const now = new Date('2026-11-27T12:00:00Z')
  it('should default to the 7 days up to now and map flags onto the statistic parameters', () => {
    expect(buildStatsParams('overview', {}, now)).toEqual({
      from: '2026-11-20T12:00:00.000Z',
      to: '2026-11-27T12:00:00.000Z',
      topNames: 10,
    })
    expect(
      buildStatsParams(
        'timeseries',
        { from: '2026-11-01', to: '2026-11-02', type: ['track,page'], limit: '5' },
        now,
      ),
    ).toMatchObject({ from: '2026-11-01T00:00:00Z', unit: 'day', types: ['track', 'page'], limitGroups: 5 })
    expect(
      buildStatsParams('performance', { metric: ['LCP'], interval: 'day', tz: 'Europe/Berlin' }, now),
    ).toMatchObject({ metrics: ['LCP'], unit: 'day', timeZone: 'Europe/Berlin' })
  })

  it('should refuse flags a statistic does not take and values its schema refuses', () => {
    expect(() => buildStatsParams('overview', { user: 'u1' }, now)).toThrow(
      /--user does not apply to stats overview/,
    )
    expect(() => buildStatsParams('timeseries', { interval: 'year' }, now)).toThrow(
      /--interval must be one of minute/,
    )
    expect(() => buildStatsParams('overview', { top: '0' }, now)).toThrow(/--top must be >= 1/)
    expect(() => buildStatsParams('overview', { from: 'soon' }, now)).toThrow(/--from must be a date-time/)
  })
})

describe('tally stats', () => {
  const db = tempDatabase()
  beforeAll(async () => {
    const events = [
      ...Array.from({ length: 3 }, (_, i) => ({ type: 'track', name: 'Signed Up', userId: `u${i}` })),
      { type: 'page', name: 'Home', anonymousId: 'a1' },
    ]
    const run = await runCli(['import', '-', '--db', db.url, '--fresh-ids'], { stdin: ndjson(...events) })
    expect(run.code, run.stderr).toBe(0)
  })
  afterAll(() => db.remove())

  it('should print the same statistic the HTTP route answers, as JSON', async () => {
    const overview = await runCli(['stats', 'overview', '--db', db.url])
    expect(overview.code, overview.stderr).toBe(0)
    const result = JSON.parse(overview.stdout)
    expect(result.byType).toEqual(
      expect.arrayContaining([
        { type: 'track', count: 3 },
        { type: 'page', count: 1 },
      ]),
    )
    expect(result.topNames[0]).toEqual({ type: 'track', name: 'Signed Up', count: 3 })

    const series = await runCli([
      'stats',
      'timeseries',
      '--interval',
      'hour',
      '--type',
      'track',
      '--db',
      db.url,
    ])
    expect(series.code, series.stderr).toBe(0)
    const ts = JSON.parse(series.stdout)
    expect(ts.unit).toBe('hour')
    expect(ts.series).toEqual([expect.objectContaining({ key: null, total: 3 })])

    const grouped = await runCli([
      'stats',
      'timeseries',
      '--interval',
      'hour',
      '--group-by',
      'type',
      '--db',
      db.url,
    ])
    const keys = JSON.parse(grouped.stdout).series.map((s: { key: string; total: number }) => [
      s.key,
      s.total,
    ])
    expect(keys).toEqual(
      expect.arrayContaining([
        ['track', 3],
        ['page', 1],
      ]),
    )
  })

  it('should refuse an unknown statistic or an out-of-place flag with exit 2', async () => {
    expect((await runCli(['stats', '--db', db.url])).code).toBe(2)
    expect((await runCli(['stats', 'funnels', '--db', db.url])).code).toBe(2)
    const run = await runCli(['stats', 'performance', '--where', 'properties.x=1', '--db', db.url])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/--where does not apply to stats performance/)
    const range = await runCli([
      'stats',
      'overview',
      '--from',
      '2026-11-02',
      '--to',
      '2026-11-01',
      '--db',
      db.url,
    ])
    expect(range.code).toBe(2)
    expect(range.stderr).toMatch(/to must be after from/)
  })
})
