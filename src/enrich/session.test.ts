import { describe, expect, it } from 'vitest'
import { createSessionDeriver, visitorKey } from './session.js'

const T0 = Date.parse('2026-11-27T10:00:00.000Z')
const MIN = 60_000

describe('createSessionDeriver', () => {
  it('should keep one id while events are less than 30 minutes apart', () => {
    const derive = createSessionDeriver({ salt: 's' })
    const a = derive('p1', 'a:anon', T0)
    expect(derive('p1', 'a:anon', T0 + 29 * MIN)).toBe(a)
    expect(derive('p1', 'a:anon', T0 + 58 * MIN)).toBe(a)
    expect(a).toMatch(/^[0-9a-f]{32}$/)
  })

  it('should start a new session after 30 minutes of inactivity and at UTC midnight', () => {
    const derive = createSessionDeriver({ salt: 's' })
    const a = derive('p1', 'a:anon', T0)
    const b = derive('p1', 'a:anon', T0 + 31 * MIN)
    expect(b).not.toBe(a)
    const late = Date.parse('2026-11-27T23:50:00.000Z')
    const c = derive('p1', 'a:anon', late)
    expect(derive('p1', 'a:anon', late + 15 * MIN)).not.toBe(c)
  })

  it('should separate visitors and projects, and be deterministic for a salt and a stream', () => {
    const d1 = createSessionDeriver({ salt: 's' })
    const d2 = createSessionDeriver({ salt: 's' })
    const x = d1('p1', 'a:x', T0)
    expect(d1('p1', 'a:y', T0)).not.toBe(x)
    expect(d1('p2', 'a:x', T0)).not.toBe(x)
    expect(d2('p1', 'a:x', T0)).toBe(x)
    expect(createSessionDeriver({ salt: 'other' })('p1', 'a:x', T0)).not.toBe(x)
  })

  it('should keep the current session when older events arrive, and group those among themselves', () => {
    // A trial: one backfilled event from two days ago split a visitor's live session in two.
    const derive = createSessionDeriver({ salt: 's' })
    const now = derive('p1', 'a:x', T0)
    const old = derive('p1', 'a:x', T0 - 2 * 24 * 60 * MIN)
    expect(old).not.toBe(now)
    expect(derive('p1', 'a:x', T0 - 2 * 24 * 60 * MIN + 5 * MIN)).toBe(old) // the rest of the offline queue
    expect(derive('p1', 'a:x', T0 + MIN)).toBe(now)
    // Earlier the same day but beyond the window: a late session of its own, the current one untouched.
    const morning = derive('p1', 'a:x', T0 - 3 * 60 * MIN)
    expect([now, old]).not.toContain(morning)
    expect(derive('p1', 'a:x', T0 + 2 * MIN)).toBe(now)
  })

  it("should let the previous session's late events join it, and keep several backfilled periods apart", () => {
    // A trial: after the visitor's next session began, an event of the previous one arriving late got a
    // session of its own; a backfill of two old periods split one of them.
    const derive = createSessionDeriver({ salt: 's' })
    const first = derive('p1', 'a:x', T0)
    const second = derive('p1', 'a:x', T0 + 60 * MIN)
    expect(second).not.toBe(first)
    expect(derive('p1', 'a:x', T0 + 5 * MIN)).toBe(first) // late event of the first session
    expect(derive('p1', 'a:x', T0 - 10 * MIN)).toBe(first) // within the timeout before it
    const a = derive('p1', 'a:x', T0 - 180 * MIN)
    const b = derive('p1', 'a:x', T0 - 300 * MIN)
    expect(derive('p1', 'a:x', T0 - 178 * MIN)).toBe(a)
    expect(derive('p1', 'a:x', T0 - 299 * MIN)).toBe(b)
    expect(derive('p1', 'a:x', T0 + 61 * MIN)).toBe(second)
  })

  it('should accept a late event inside the session window and forget visitors beyond the bound', () => {
    const derive = createSessionDeriver({ salt: 's', maxVisitors: 1 })
    const a = derive('p1', 'a:x', T0)
    expect(derive('p1', 'a:x', T0 - 10 * MIN)).toBe(a)
    derive('p1', 'a:y', T0)
    expect(derive('p1', 'a:x', T0 + MIN)).not.toBe(a)
  })
})

describe('visitorKey', () => {
  it('should prefer anonymousId, then userId, then IP + user agent', () => {
    expect(visitorKey('a', 'u', '1.2.3.0', 'UA')).toBe('a')
    expect(visitorKey(null, 'u', '1.2.3.0', 'UA')).toBe('\u0000uu')
    expect(visitorKey(null, null, '1.2.3.0', 'UA')).toBe('\u0000i1.2.3.0|UA')
    expect(visitorKey(null, null, null, null)).toBeNull()
  })
})
