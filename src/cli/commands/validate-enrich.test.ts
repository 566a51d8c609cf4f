import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
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
        projectId: 'cli',
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
})
