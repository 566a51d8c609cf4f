import { afterEach, describe, expect, it, vi } from 'vitest'
import { Tally, type TallySdkError } from '../src/index.js'

interface Sent {
  events: Record<string, any>[]
  sentAt: string
  bytes: number
  headers: Record<string, string>
}

/** A client whose fetch records each request and answers with `answer(n)` (default: 200, nothing rejected). */
function client(
  options: Partial<ConstructorParameters<typeof Tally>[0]> = {},
  answer: (n: number, body: Sent) => Response = () =>
    new Response('{"accepted":1,"duplicates":0,"rejected":0,"dropped":0,"results":[]}'),
) {
  const sent: Sent[] = []
  const errors: TallySdkError[] = []
  const tally = new Tally({
    host: 'http://tally.test/',
    writeKey: 'tly_w_test',
    gzipAbove: 0,
    retryBaseDelayMs: 1,
    onError: (e) => errors.push(e),
    ...options,
    fetch: (async (_url: string, init: RequestInit) => {
      const raw = Buffer.from(init.body as Uint8Array)
      const body = { ...JSON.parse(raw.toString('utf8')), bytes: raw.length, headers: init.headers }
      sent.push(body)
      return answer(sent.length, body)
    }) as typeof fetch,
  })
  return { tally, sent, errors }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Tally batching', () => {
  it('should send full batches of flushAt under load and the rest on flush(), in order', async () => {
    const { tally, sent } = client({ flushAt: 10, flushInterval: 60_000 })
    for (let i = 0; i < 35; i++) tally.track({ userId: 'u', name: 'E', properties: { i } })
    await tally.flush()
    expect(sent.map((b) => b.events.length)).toEqual([10, 10, 10, 5])
    expect(sent.flatMap((b) => b.events.map((e) => e.properties.i))).toEqual([...Array(35).keys()])
    expect(tally.queueSize).toBe(0)
  })

  it('should not send a partial batch because a send finished, but after flushInterval', async () => {
    vi.useFakeTimers()
    const { tally, sent } = client({ flushAt: 3, flushInterval: 1000 })
    for (let i = 0; i < 4; i++) tally.track({ userId: 'u', name: 'E', properties: { i } })
    await vi.advanceTimersByTimeAsync(10)
    expect(sent.map((b) => b.events.length)).toEqual([3])
    await vi.advanceTimersByTimeAsync(500)
    expect(sent).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(600)
    expect(sent.map((b) => b.events.length)).toEqual([3, 1])
  })

  it('should keep each request under 400 KB of UTF-8, counting multi-byte characters', async () => {
    const { tally, sent } = client({ flushAt: 1000, flushInterval: 60_000 })
    // 120 events of ~10,000 characters that are 3 bytes each in UTF-8: ~3.6 MB in all.
    for (let i = 0; i < 120; i++)
      tally.track({ userId: 'u', name: 'Big', properties: { i, text: '€'.repeat(10_000) } })
    await tally.close()
    expect(sent.flatMap((b) => b.events.map((e) => e.properties.i))).toEqual([...Array(120).keys()])
    for (const body of sent) expect(body.bytes).toBeLessThanOrEqual(400 * 1024 + 64)
    expect(sent.length).toBeGreaterThanOrEqual(9)
  })

  it('should send an event larger than the limit alone rather than hold it back', async () => {
    const { tally, sent } = client({ flushInterval: 60_000 })
    tally.track({ userId: 'u', name: 'Small' })
    tally.track({ userId: 'u', name: 'Huge', properties: { text: 'x'.repeat(450 * 1024) } })
    tally.track({ userId: 'u', name: 'Small again' })
    await tally.close()
    expect(sent.map((b) => b.events.map((e) => e.name))).toEqual([['Small'], ['Huge'], ['Small again']])
  })

  it('should serialise an event when it is queued, and report one that cannot be as invalid_event', async () => {
    const { tally, sent, errors } = client()
    const properties: Record<string, unknown> = { total: 1 }
    tally.track({ userId: 'u', name: 'Snapshot', properties })
    properties.total = 2
    tally.track({ userId: 'u', name: 'BigInt', properties: { n: 1n } })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    tally.track({ userId: 'u', name: 'Circular', properties: circular })
    await tally.close()
    expect(sent.flatMap((b) => b.events.map((e) => [e.name, e.properties.total]))).toEqual([['Snapshot', 1]])
    expect(errors.map((e) => [e.code, e.details.events?.[0]?.type])).toEqual([
      ['invalid_event', 'track'],
      ['invalid_event', 'track'],
    ])
  })

  it('should report events the server rejected by their index in the batch', async () => {
    const { tally, errors } = client({}, () =>
      Response.json({
        accepted: 1,
        duplicates: 0,
        rejected: 1,
        dropped: 0,
        results: [
          { index: 0, status: 'accepted' },
          { index: 1, status: 'rejected', errors: [{ path: '/name', code: 'required' }] },
        ],
      }),
    )
    tally.track({ userId: 'u', name: 'Fine' })
    tally.track({ userId: 'u', name: '' })
    await tally.close()
    expect(errors.map((e) => e.code)).toEqual(['events_rejected'])
    expect(errors[0].details.events?.map((e) => (e as { name: string }).name)).toEqual([''])
  })

  it('should retry with the same bytes but a new sentAt, and give the dropped events back when it gives up', async () => {
    const { tally, sent, errors } = client({ maxRetries: 2 }, () => new Response('busy', { status: 503 }))
    tally.track({ userId: 'u', name: 'A' })
    tally.track({ anonymousId: 'a', name: 'B' })
    await tally.close()
    expect(sent).toHaveLength(3)
    expect(sent.map((b) => b.events)).toEqual([sent[0].events, sent[0].events, sent[0].events])
    expect(sent.map((b) => b.headers['x-retry-count'])).toEqual([undefined, '1', '2'])
    expect(errors.map((e) => [e.code, e.details.status])).toEqual([['delivery_failed', 503]])
    expect(errors[0].details.events?.map((e) => (e as { name: string }).name)).toEqual(['A', 'B'])
  })

  it('should send a batch the server refuses as too large again in halves, down to one event (it dropped it whole)', async () => {
    // A trial: 500 events lost to one 413 from a server with TALLY_BODY_LIMIT=65536. The server here takes
    // at most 2 events a request: 413 natively, 400 payload_too_large as Segment's routes answer.
    for (const refuse of [
      () => new Response('{"error":{"code":"payload_too_large"}}', { status: 413 }),
      () => new Response('{"error":{"code":"payload_too_large","statusCode":400}}', { status: 400 }),
    ]) {
      const { tally, sent, errors } = client({ flushAt: 100 }, (_n, body) =>
        body.events.length > 2
          ? refuse()
          : new Response(
              `{"accepted":${body.events.length},"duplicates":0,"rejected":0,"dropped":0,"results":[]}`,
            ),
      )
      for (let i = 0; i < 7; i++) tally.track({ userId: 'u', name: 'E', properties: { i } })
      await tally.close()
      const delivered = sent.filter((b) => b.events.length <= 2)
      expect(delivered.flatMap((b) => b.events.map((e) => e.properties.i))).toEqual([0, 1, 2, 3, 4, 5, 6])
      expect(new Set(delivered.flatMap((b) => b.events.map((e) => e.messageId))).size).toBe(7)
      expect(errors).toEqual([])
    }
    // One event the server still refuses is given up on, reported with that event.
    const { tally, errors } = client(
      {},
      () => new Response('{"error":{"code":"payload_too_large"}}', { status: 413 }),
    )
    tally.track({ userId: 'u', name: 'Huge' })
    tally.track({ userId: 'u', name: 'Also' })
    await tally.close()
    expect(errors.map((e) => [e.code, e.details.status, e.details.events?.length])).toEqual([
      ['batch_refused', 413, 1],
      ['batch_refused', 413, 1],
    ])
  })

  it('should give up what close() cannot deliver within closeTimeoutMs, with the events (it waited minutes)', async () => {
    // A trial: a server that accepted connections but never answered held close() ~65 s per batch.
    const errors: TallySdkError[] = []
    const tally = new Tally({
      host: 'http://tally.test',
      writeKey: 'tly_w_test',
      flushAt: 2,
      timeoutMs: 60_000,
      closeTimeoutMs: 300,
      onError: (e) => errors.push(e),
      fetch: ((_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) =>
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
        )) as typeof fetch,
    })
    for (let i = 0; i < 6; i++) tally.track({ userId: 'u', name: 'E', properties: { i } })
    await tally.close() // without the deadline: 6 attempts of 60 s each, per batch (the test times out)
    expect(errors.map((e) => e.code)).toEqual(['delivery_failed', 'delivery_failed', 'delivery_failed'])
    expect(errors.flatMap((e) => e.details.events ?? [])).toHaveLength(6)
  })

  it('should time out a request that hangs with a TimeoutError, and retry it', async () => {
    let calls = 0
    const errors: TallySdkError[] = []
    const tally = new Tally({
      host: 'http://tally.test',
      writeKey: 'tly_w_test',
      timeoutMs: 20,
      maxRetries: 1,
      retryBaseDelayMs: 1,
      onError: (e) => errors.push(e),
      fetch: ((_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => {
          calls++
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason))
        })) as typeof fetch,
    })
    tally.track({ userId: 'u', name: 'Slow' })
    await tally.close()
    expect(calls).toBe(2)
    expect(errors.map((e) => e.code)).toEqual(['delivery_failed'])
    expect((errors[0].cause as DOMException).name).toBe('TimeoutError')
  })

  it('should gzip bodies above gzipAbove', async () => {
    const bodies: { encoding: string | undefined; size: number }[] = []
    const tally = new Tally({
      host: 'http://tally.test',
      writeKey: 'tly_w_test',
      gzipAbove: 1024,
      fetch: (async (_url: string, init: RequestInit) => {
        const headers = init.headers as Record<string, string>
        bodies.push({ encoding: headers['content-encoding'], size: (init.body as Uint8Array).length })
        return new Response('{"accepted":1,"duplicates":0,"rejected":0,"dropped":0,"results":[]}')
      }) as typeof fetch,
    })
    tally.track({ userId: 'u', name: 'Small' })
    await tally.flush()
    for (let i = 0; i < 50; i++) tally.track({ userId: 'u', name: 'Many', properties: { i } })
    await tally.close()
    expect(bodies[0].encoding).toBeUndefined()
    expect(bodies[1].encoding).toBe('gzip')
    expect(bodies[1].size).toBeLessThan(2000)
  })
})
