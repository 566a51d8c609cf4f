import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { derivedMessageId } from '../import-event.js'
import { main } from '../index.js'

async function run(argv: string[], stdin: string) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: string[] = []
  stdout.on('data', (d) => out.push(String(d)))
  stderr.on('data', () => {})
  const code = await main(argv, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr, env: {} })
  const lines = out
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
  return { code, lines }
}

const page = {
  type: 'page',
  anonymousId: 'a1',
  messageId: 'm1',
  context: {
    ip: '203.0.113.77',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
    page: { url: 'https://shop.example/cart?utm_source=news', referrer: 'https://www.google.com/' },
  },
  properties: { email: 'ann@example.com' },
}

describe('tally validate --enrich', () => {
  it('should print each valid event as it would be stored, and nothing more without the flag', async () => {
    const input = `${JSON.stringify(page)}\n{"type":"track","userId":"u"}\n`
    const { code, lines } = await run(['validate', '--enrich'], input)
    expect(code).toBe(1)
    expect(lines[0]).toMatchObject({
      line: 1,
      ok: true,
      event: {
        projectId: 'default',
        type: 'page',
        messageId: 'm1',
        anonymousId: 'a1',
        status: 'received',
        properties: { email: '[redacted]' },
        context: {
          ip: '203.0.113.0',
          userAgentData: { browser: { name: 'Firefox' }, os: { name: 'Linux' } },
          page: { path: '/cart', host: 'shop.example', referrerType: 'search' },
          campaign: { source: 'news' },
        },
      },
    })
    expect(lines[0].event.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(lines[1]).toMatchObject({ line: 2, ok: false, errors: [{ code: 'required' }] })
    expect(lines[1]).not.toHaveProperty('event')

    const plain = await run(['validate'], `${JSON.stringify(page)}\n`)
    expect(plain.lines).toEqual([{ line: 1, ok: true }])
  })

  it('should report a timestamp the formatter refuses in block mode as invalid', async () => {
    const future = { type: 'track', name: 'x', userId: 'u', timestamp: '2999-01-01T00:00:00.000Z' }
    const warn = await run(['validate', '--enrich', '--mode', 'allow'], `${JSON.stringify(future)}\n`)
    expect(warn.lines[0].event.violations).toEqual([expect.objectContaining({ code: 'timestamp_in_future' })])
    // In block mode the unplanned event is already refused by the tracking plan; either way it is invalid.
    const block = await run(['validate', '--enrich', '--mode', 'block'], `${JSON.stringify(future)}\n`)
    expect(block.code).toBe(1)
    expect(block.lines[0]).toMatchObject({ ok: false })
  })

  it('should print exactly what `tally import` of the same file stores, but for the documented fields', async () => {
    const at = new Date(Date.now() - 60_000).toISOString()
    const events: Record<string, unknown>[] = [
      // No messageId, no sessionId: import derives both.
      { type: 'track', name: 'Signed Up', anonymousId: 'a1', timestamp: at, properties: { plan: 'pro' } },
      { ...page, sessionId: 's1', timestamp: at },
      { type: 'identify', userId: 'u1', traits: { email: 'x@example.com' }, timestamp: at },
    ]
    const db = tempDatabase()
    try {
      const file = join(db.dir, 'events.ndjson')
      writeFileSync(file, ndjson(...events))
      const validated = await run(['validate', '--enrich', file], '')
      expect(validated.code).toBe(0)
      const imported = await runCli(['import', file, '--db', db.url])
      expect(imported.code, imported.stderr).toBe(0)
      const stored = JSON.parse((await runCli(['query', '--order', 'asc', '--db', db.url])).stdout).events
      expect(stored).toHaveLength(3)

      const printed = validated.lines.map((l) => l.event)
      expect(printed[0].projectId).toBe('default')
      expect(printed[0].messageId).toBe(derivedMessageId(JSON.stringify(events[0])))
      for (const [i, event] of printed.entries()) {
        // The fields VALIDATE_HELP names as differing by nature: the server-assigned id, the receive time,
        // and a derived sessionId (a salted hash; the salt is random per process).
        const differs = ['id', 'receivedAt', ...(events[i].sessionId === undefined ? ['sessionId'] : [])]
        const without = (e: Record<string, unknown>) =>
          Object.fromEntries(Object.entries(e).filter(([k]) => !differs.includes(k)))
        expect(without(event), `line ${i + 1}`).toEqual(without(stored[i]))
      }
      expect(printed[0].sessionId).toMatch(/^[0-9a-f]{32}$/)
    } finally {
      db.remove()
    }
  })

  it('should take --project and --fresh-ids as import does', async () => {
    const event = { type: 'track', name: 'A', userId: 'u' }
    const shop = await run(['validate', '--enrich', '--project', 'shop'], ndjson(event))
    expect(shop.lines[0].event).toMatchObject({
      projectId: 'shop',
      messageId: derivedMessageId(JSON.stringify(event)),
    })
    const fresh = await run(['validate', '--enrich', '--fresh-ids'], ndjson(event))
    expect(fresh.lines[0].event.messageId).toBe(fresh.lines[0].event.id)
    expect((await run(['validate', '--project', ''], '')).code).toBe(2)
  })
})
