import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { parseWherePredicate } from '../filter-args.js'

const events = [
  {
    type: 'track',
    name: 'Order',
    userId: 'u1',
    messageId: 'o1',
    properties: { plan: 'pro', amount: 120, tags: ['beta'] },
  },
  {
    type: 'track',
    name: 'Order',
    userId: 'u2',
    messageId: 'o2',
    properties: { plan: 'free', amount: 20, coupon: 'X1' },
  },
  { type: 'track', name: 'Order', userId: 'u3', messageId: 'o3', properties: { plan: 'team', amount: 500 } },
  { type: 'page', name: 'Pricing', anonymousId: 'a1', messageId: 'p1', properties: { path: '/pricing' } },
]

describe('parseWherePredicate', () => {
  it('should map each operator of the mini-syntax onto an EventQuery predicate', () => {
    expect(parseWherePredicate('properties.plan=pro')).toEqual({
      path: 'properties.plan',
      op: 'eq',
      value: 'pro',
    })
    expect(parseWherePredicate('properties.plan!=pro')).toMatchObject({ op: 'ne' })
    expect(parseWherePredicate('properties.amount>=100')).toEqual({
      path: 'properties.amount',
      op: 'gte',
      value: 100,
    })
    expect(parseWherePredicate('properties.amount<5')).toMatchObject({ op: 'lt', value: 5 })
    expect(parseWherePredicate('properties.id="5"')).toMatchObject({ op: 'eq', value: '5' })
    expect(parseWherePredicate('properties.tags~beta')).toMatchObject({ op: 'contains', value: 'beta' })
    expect(parseWherePredicate('?properties.coupon')).toEqual({
      path: 'properties.coupon',
      op: 'exists',
      value: true,
    })
    expect(parseWherePredicate('!?properties.coupon')).toMatchObject({ op: 'exists', value: false })
    expect(parseWherePredicate('properties.plan=in:pro,team,3')).toEqual({
      path: 'properties.plan',
      op: 'in',
      value: ['pro', 'team', 3],
    })
  })
})

describe('tally query', () => {
  const db = tempDatabase()
  beforeAll(async () => {
    expect((await runCli(['import', '-', '--db', db.url], { stdin: ndjson(...events) })).code).toBe(0)
  })
  afterAll(() => db.remove())

  async function ids(...flags: string[]): Promise<string[]> {
    const run = await runCli(['query', '--db', db.url, '--order', 'asc', ...flags])
    expect(run.code, run.stderr).toBe(0)
    return JSON.parse(run.stdout).events.map((e: { messageId: string }) => e.messageId)
  }

  it('should filter with --where predicates, AND-ed with the other filters', async () => {
    expect(await ids('--where', 'properties.plan=pro')).toEqual(['o1'])
    expect(await ids('--where', 'properties.amount>=100')).toEqual(['o1', 'o3'])
    expect(await ids('--where', 'properties.amount>=100', '--where', 'properties.plan!=pro')).toEqual(['o3'])
    expect(await ids('--where', 'properties.tags~beta')).toEqual(['o1'])
    expect(await ids('--where', 'properties.plan!=pro')).toEqual(['o2', 'o3', 'p1'])
    expect(await ids('--where', '?properties.coupon')).toEqual(['o2'])
    expect(await ids('--type', 'track', '--where', '!?properties.coupon')).toEqual(['o1', 'o3'])
    expect(await ids('--where', 'properties.plan=in:free,team')).toEqual(['o2', 'o3'])
    expect(await ids('--type', 'page,track', '--name', 'Pricing')).toEqual(['p1'])
    expect(await ids('--user', 'u2')).toEqual(['o2'])
  })

  it('should take times to the minute with a zone offset, as docs/cli.md writes them', async () => {
    // `2026-11-01T10:30+01:00`: refused as "not a date-time" (RFC 3339 wants seconds) by query, export
    // and stats, while failed list and audit took it.
    const atPlusOne = (ms: number) => `${new Date(ms + 3_600_000).toISOString().slice(0, 16)}+01:00`
    expect(await ids('--from', atPlusOne(Date.now() - 3_600_000))).toHaveLength(4)
    expect(await ids('--from', atPlusOne(Date.now() + 3_600_000))).toEqual([])
    const stats = await runCli([
      'stats',
      'overview',
      '--db',
      db.url,
      '--from',
      atPlusOne(Date.now() - 3_600_000),
    ])
    expect(stats.code, stats.stderr).toBe(0)
    expect(JSON.parse(stats.stdout).total).toBe(4)
  })

  it('should page with --limit and continue with the printed nextCursor', async () => {
    const first = JSON.parse((await runCli(['query', '--db', db.url, '--limit', '3'])).stdout)
    expect(first.events).toHaveLength(3)
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = JSON.parse(
      (await runCli(['query', '--db', db.url, '--limit', '3', '--cursor', first.nextCursor])).stdout,
    )
    expect(second.events).toHaveLength(1)
    expect(second.nextCursor).toBeNull()
    const all = [...first.events, ...second.events].map((e: { messageId: string }) => e.messageId)
    expect(new Set(all)).toEqual(new Set(['o1', 'o2', 'o3', 'p1']))
  })

  it('should refuse bad filters with exit 2 and a one-line message naming the flag, never a stack', async () => {
    const cases: [string[], RegExp][] = [
      [['--where', 'properties.plan'], /--where "properties.plan": expected PATH OP VALUE/],
      [['--where', 'secret.x=1'], /--where #1: path must be properties\.x/],
      [['--type', 'nope'], /--type must be one of track, page/],
      [['--from', 'yesterday'], /--from must be a date-time/],
      [['--limit', '0'], /--limit must be >= 1/],
      [['--from', '2026-11-02', '--to', '2026-11-01'], /--to must be after --from/],
      [['--cursor', 'garbage'], /cursor/],
      [['--frm', 'x'], /unknown option --frm; see/],
    ]
    for (const [flags, message] of cases) {
      const run = await runCli(['query', '--db', db.url, ...flags])
      expect(run.code, flags.join(' ')).toBe(2)
      expect(run.stderr).toMatch(message)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).not.toMatch(/\n\s+at /)
    }
  })
})

describe('tally query in a server environment', () => {
  it("should not check the server's own settings (TALLY_PORT=abc is serve's error)", async () => {
    const db = tempDatabase()
    try {
      expect((await runCli(['migrate', '--db', db.url])).code).toBe(0)
      const run = await runCli(['query', '--db', db.url], {
        env: { TALLY_PORT: 'abc', TALLY_BODY_LIMIT: 'x' },
      })
      expect(run.code, run.stderr).toBe(0)
    } finally {
      db.remove()
    }
  })
})
