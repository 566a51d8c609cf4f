import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fragment } from '../src/batch.js'
import { PendingBatch, type RareParts, registerFragment } from '../src/pending.js'

const number = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  fc.double(),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.NaN, 2 ** 53, -1),
)
const jsonString = fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s))

describe('PendingBatch', () => {
  it('should format to valid JSON no larger than its byte bound, events in the order they were added', () => {
    const apiRequest = fc.record({
      method: fc.constantFrom('GET', 'PROPFIND'),
      identity: fc.option(
        jsonString.map((s) => `,"userId":${s}`),
        { nil: undefined },
      ),
      route: jsonString.map((s) => `,"route":${s},"statusCode":`),
      statusCode: number,
      durationMs: number,
      requestBytes: fc.oneof(fc.constant(-1), fc.nat(), fc.constant(2 ** 53)),
      responseBytes: fc.oneof(fc.constant(-1), fc.nat()),
      extra: fc.option(
        jsonString.map((s) => `,"path":${s},"error":"RangeError"`),
        { nil: undefined },
      ),
      time: fc.integer({ min: -8.64e15, max: 8.64e15 }),
      registered: fc.boolean(),
    })
    const entry = fc.oneof(
      apiRequest,
      fc.jsonValue().map((v) => ({ text: JSON.stringify({ type: 'track', v }) })),
    )
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 30 }), (entries) => {
        const p = new PendingBatch(4) // grows
        for (const e of entries) {
          if ('text' in e) p.addText(e.text, Buffer.byteLength(e.text))
          else {
            // The head of an identified event is the method's part alone.
            const properties = `,"properties":{"method":"${e.method}"`
            const head = fragment(
              e.identity === undefined
                ? `{"type":"api_request","anonymousId":"server"${properties}`
                : properties,
            )
            const route = fragment(e.route)
            // Fragments by number, or carried with the event (unknown methods, routes past the cache).
            const rare: RareParts = { identity: e.identity, extra: e.extra }
            const headId = e.registered ? registerFragment(head) : -1
            const routeId = e.registered ? registerFragment(route) : -1
            if (!e.registered) Object.assign(rare, { head, route })
            p.addApiRequest(
              headId,
              routeId,
              e.statusCode,
              e.durationMs,
              e.time,
              e.requestBytes,
              e.responseBytes,
              e.identity === undefined && e.extra === undefined && e.registered ? undefined : rare,
              PendingBatch.apiRequestBytes(head, route, e.identity, e.extra),
            )
          }
        }
        const body = p.format().body(new Date(-8.64e15).toISOString())
        expect(body.length).toBeLessThanOrEqual(p.bytes)
        const events = JSON.parse(body.toString('utf8')).events
        expect(events).toHaveLength(entries.length)
        entries.forEach((e, i) => {
          if ('text' in e) expect(events[i]).toEqual(JSON.parse(e.text))
          else {
            expect(events[i].type).toBe('api_request')
            expect(events[i].timestamp).toBe(new Date(e.time).toISOString())
          }
        })
      }),
      { numRuns: 300 },
    )
  })
})
