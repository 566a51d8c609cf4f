import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEventFormatter } from '../../src/enrich/event-formatter.js'
import { AppError } from '../../src/errors/app-error.js'
import { EventService } from '../../src/ingest/event-service.js'
import { ProjectRuntimeCache } from '../../src/ingest/project-runtime.js'
import { replayFailedEvents } from '../../src/ingest/replay-failed-events.js'
import type { AnalyticsEvent } from '../../src/schema/analytics-event.js'
import { createStore } from '../../src/store/create-store.js'
import type { EventStore, NewFailedEvent } from '../../src/store/event-store.js'
import { DEFAULT_PROJECT_SETTINGS, type ProjectSettings } from '../../src/store/project-types.js'
import { TrackingPlan } from '../../src/tracking-plan/tracking-plan.js'
import { EventValidator } from '../../src/validate/event-validator.js'
import {
  createFreshPostgresDatabase,
  type FreshDatabase,
  IN_CI,
  isPostgresReachable,
} from '../helpers/dialects.js'

const pgReachable = await isPostgresReachable()
const variants: {
  name: string
  enabled: boolean
  url: () => Promise<{ url: string; done: () => Promise<void> }>
}[] = [
  { name: 'sqlite', enabled: true, url: async () => ({ url: 'sqlite::memory:', done: async () => {} }) },
  {
    name: 'postgres',
    enabled: pgReachable || IN_CI,
    url: async () => {
      const db: FreshDatabase = await createFreshPostgresDatabase()
      return { url: db.url, done: () => db.drop() }
    },
  },
]

for (const variant of variants) {
  describe.runIf(variant.enabled)(`${variant.name}: EventService`, () => {
    let store: EventStore
    let service: EventService
    let projects: ProjectRuntimeCache
    let done: () => Promise<void>
    const validator = new EventValidator()
    const formatter = createEventFormatter()

    async function makeProject(id: string, settings: Partial<ProjectSettings> = {}) {
      await store.createProject({
        id,
        name: id,
        createdAt: new Date().toISOString(),
        settings: { ...DEFAULT_PROJECT_SETTINGS, ...settings },
      })
    }

    beforeEach(async () => {
      const target = await variant.url()
      done = target.done
      store = await createStore(target.url, { migrate: true })
      projects = new ProjectRuntimeCache(store)
      service = new EventService({ store, validator, formatter, projects })
      await makeProject('p1')
    })
    afterEach(async () => {
      await service.close()
      await store.close()
      await done()
    })

    const track = (messageId: string, extra: Record<string, unknown> = {}) => ({
      type: 'track',
      name: 'Signed Up',
      userId: 'u1',
      messageId,
      properties: { plan: 'pro' },
      ...extra,
    })

    it('should accept valid events, reject invalid ones into the failed store, and answer per event', async () => {
      const result = await service.ingest([track('m1'), { type: 'track', userId: 'u1' }, 42], {
        projectId: 'p1',
      })
      expect(result).toMatchObject({ accepted: 1, duplicates: 0, rejected: 2, dropped: 0 })
      expect(result.results[0]).toMatchObject({ index: 0, status: 'accepted' })
      expect(result.results[1]).toMatchObject({ index: 1, status: 'rejected' })
      expect(result.results[1].errors?.[0]).toMatchObject({ path: '/name', code: 'required' })
      expect(result.results[2].errors?.[0]).toMatchObject({ path: '', code: 'type' })
      const stored = await store.getEvent('p1', result.results[0].id!)
      expect(stored).toMatchObject({
        name: 'Signed Up',
        messageId: 'm1',
        status: 'received',
        properties: { plan: 'pro' },
      })
      const failed = await store.listFailedEvents('p1', {})
      expect(failed.failedEvents.map((f) => f.payload)).toEqual(
        expect.arrayContaining([42, { type: 'track', userId: 'u1' }]),
      )
    })

    it('should store a retried batch once and report the retry as duplicates with the stored ids', async () => {
      const batch = [track('r1'), track('r2')]
      const first = await service.ingest(batch, { projectId: 'p1' })
      const again = await service.ingest(batch, { projectId: 'p1' })
      expect(again).toMatchObject({ accepted: 0, duplicates: 2 })
      expect(again.results.map((r) => r.id)).toEqual(first.results.map((r) => r.id))
      const page = await store.queryEvents('p1', {})
      expect(page.events).toHaveLength(2)
    })

    it('should coalesce concurrent callers and store every event exactly once', async () => {
      const calls = Array.from({ length: 40 }, (_, c) =>
        service.ingest(
          Array.from({ length: 25 }, (_, i) => track(`c${c}-${i}`)),
          { projectId: 'p1' },
        ),
      )
      // Two callers racing with the same messageId: one stores it, the other sees a duplicate.
      calls.push(
        service.ingest([track('race')], { projectId: 'p1' }),
        service.ingest([track('race')], { projectId: 'p1' }),
      )
      const results = await Promise.all(calls)
      expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(1001)
      expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(1)
      let count = 0
      for await (const _ of store.exportEvents('p1', {})) count++
      expect(count).toBe(1001)
    })

    // A single event the database refused (PostgreSQL could not index a 6 KB route) answered 500 to every
    // client whose events shared its group commit; now the group is written again request by request.
    it('should fail only the request the database refuses, not the others of its group commit', async () => {
      const refusing = new Proxy(store, {
        get(target, key) {
          if (key === 'insertBatch') {
            return (events: AnalyticsEvent[], failed: NewFailedEvent[]) =>
              events.some((e) => e.name === 'Poison')
                ? Promise.reject(new AppError('internal', 'Storage error: index row size exceeds maximum'))
                : target.insertBatch(events, failed)
          }
          const value = Reflect.get(target, key, target)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const errors: unknown[] = []
      const isolated = new EventService({
        store: refusing,
        validator,
        formatter,
        projects,
        onWriteError: (err) => errors.push(err),
      })
      try {
        // Submitted on one turn: one group commit.
        const calls = [
          isolated.ingest([track('ok-1')], { projectId: 'p1' }),
          isolated.ingest([track('bad-1', { name: 'Poison' })], { projectId: 'p1' }),
          isolated.ingest([track('ok-2'), track('ok-3')], { projectId: 'p1' }),
        ]
        const settled = await Promise.allSettled(calls)
        expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
        expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'internal' })
        expect(settled.map((s) => (s.status === 'fulfilled' ? s.value.accepted : 0))).toEqual([1, 0, 2])
        const stored = (await store.queryEvents('p1', {})).events.map((e) => e.messageId).sort()
        expect(stored).toEqual(['ok-1', 'ok-2', 'ok-3'])
        expect(errors).toHaveLength(2) // the group's failure, then the refused request's own
      } finally {
        await isolated.close()
      }
    })

    // A privilege revoked on failed_events alone (42501, answered store_unavailable) failed every request of
    // the group — and all queued behind it — though only the one keeping a failed event writes there.
    it('should fail only the requests a missing privilege concerns, not their group nor the queue', async () => {
      const denied = new Proxy(store, {
        get(target, key) {
          if (key === 'insertBatch') {
            return (events: AnalyticsEvent[], failed: NewFailedEvent[]) =>
              failed.length > 0
                ? Promise.reject(
                    new AppError('store_unavailable', 'lacks a privilege', {
                      cause: Object.assign(new Error('permission denied for table failed_events'), {
                        code: '42501',
                      }),
                      retryAfterSeconds: 5,
                    }),
                  )
                : target.insertBatch(events, failed)
          }
          const value = Reflect.get(target, key, target)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const isolated = new EventService({ store: denied, validator, formatter, projects })
      try {
        const calls = [
          isolated.ingest([track('priv-1')], { projectId: 'p1' }),
          isolated.ingest([{ type: 'track', userId: 'no-name' }], { projectId: 'p1' }),
          isolated.ingest([track('priv-2')], { projectId: 'p1' }),
        ]
        const settled = await Promise.allSettled(calls)
        expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
        expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'store_unavailable' })
      } finally {
        await isolated.close()
      }
    })

    it('should apply the batch sentAt to correct client clock skew', async () => {
      const receivedAt = new Date('2026-11-27T12:00:00.000Z')
      // The client clock is 2 hours behind: it thinks it is 10:00 when it sends.
      const result = await service.ingest([track('skew', { timestamp: '2026-11-27T09:59:00.000Z' })], {
        projectId: 'p1',
        sentAt: '2026-11-27T10:00:00.000Z',
        receivedAt,
      })
      const stored = await store.getEvent('p1', result.results[0].id!)
      expect(stored?.timestamp).toBe('2026-11-27T11:59:00.000Z')
      expect(stored?.originalTimestamp).toBe('2026-11-27T09:59:00.000Z')
    })

    it('should replay a rejected event with the batch sentAt it came with, skew-corrected as if accepted', async () => {
      // Found by a user's trial: the kept payload lacked the batch-level sentAt (what Segment SDKs send), so
      // a replay after a schema fix stored the client's clock, 2 hours off.
      await makeProject('skewplan', { enforcement: 'block' })
      const plan = new TrackingPlan('skewplan')
      const strict = { type: 'object', required: ['plan'], properties: { plan: { enum: ['free'] } } }
      await store.saveSchema(
        plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-0', jsonSchema: strict })
          .stored,
      )
      projects.invalidate('skewplan')
      const receivedAt = new Date('2026-11-27T12:00:00.000Z')
      const result = await service.ingest([track('late', { timestamp: '2026-11-27T09:50:00.000Z' })], {
        projectId: 'skewplan',
        sentAt: '2026-11-27T10:00:00.000Z',
        receivedAt,
      })
      expect(result.rejected).toBe(1)
      const loose = { type: 'object', properties: { plan: { type: 'string' } } }
      await store.saveSchema(
        plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-1', jsonSchema: loose })
          .stored,
      )
      projects.invalidate('skewplan')
      expect(await replayFailedEvents({ store, validator, formatter, projects }, 'skewplan')).toMatchObject({
        replayed: 1,
      })
      const [stored] = (await store.queryEvents('skewplan', {})).events
      expect(stored).toMatchObject({
        timestamp: '2026-11-27T11:50:00.000Z',
        originalTimestamp: '2026-11-27T09:50:00.000Z',
        sentAt: '2026-11-27T10:00:00.000Z',
        receivedAt: '2026-11-27T12:00:00.000Z',
      })
    })

    it('should not keep a replayed event whose person was erased while the replay ran', async () => {
      // Found by a soak: an erasure landing between a replay's insert and its bookkeeping left the events.
      await makeProject('race', { enforcement: 'block' })
      const plan = new TrackingPlan('race')
      const strict = { type: 'object', required: ['plan'], properties: { plan: { enum: ['free'] } } }
      await store.saveSchema(
        plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-0', jsonSchema: strict })
          .stored,
      )
      projects.invalidate('race')
      const sent = await service.ingest([track('r1'), track('r2')], { projectId: 'race' })
      expect(sent.rejected).toBe(2)
      const loose = { type: 'object', properties: { plan: { type: 'string' } } }
      await store.saveSchema(
        plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-1', jsonSchema: loose })
          .stored,
      )
      // The erasure runs after the replay read its page of failed events and before it stores them.
      const racing = new Proxy(store, {
        get(target, prop) {
          if (prop !== 'insertBatch') {
            const value = Reflect.get(target, prop)
            return typeof value === 'function' ? value.bind(target) : value
          }
          return async (...args: Parameters<EventStore['insertBatch']>) => {
            await target.deleteWhere('race', { userId: 'u1' })
            return target.insertBatch(...args)
          }
        },
      })
      const report = await replayFailedEvents({ store: racing, validator, formatter, projects }, 'race')
      expect(report.replayed).toBe(0)
      expect((await store.queryEvents('race', { userId: 'u1' })).events).toEqual([])
    })

    it('should count bot traffic as dropped when the project drops bots', async () => {
      await makeProject('bots', { dropBots: true })
      const result = await service.ingest(
        [track('b1', { context: { userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' } })],
        { projectId: 'bots' },
      )
      expect(result).toMatchObject({ accepted: 0, dropped: 1, results: [{ index: 0, status: 'dropped' }] })
    })

    it('should replay failed events that pass after a schema fix, keep the others, and never store twice', async () => {
      await makeProject('plan', { enforcement: 'block' })
      const plan = new TrackingPlan('plan')
      const v1 = plan.register({
        eventType: 'track',
        eventName: 'Signed Up',
        version: '1-0-0',
        jsonSchema: { type: 'object', required: ['plan'], properties: { plan: { enum: ['free'] } } },
      })
      await store.saveSchema(v1.stored)
      projects.invalidate('plan')
      const result = await service.ingest(
        [track('x1'), track('x2', { messageId: undefined }), track('x3', { properties: {} })],
        {
          projectId: 'plan',
        },
      )
      expect(result).toMatchObject({ accepted: 0, rejected: 3 })
      expect(result.results[0].errors?.[0]).toMatchObject({
        code: 'schema_violation',
        path: '/properties/plan',
      })

      // The fix: "pro" becomes a valid plan. x1 and x2 now pass; x3 still lacks `plan`.
      const v2 = plan.register({
        eventType: 'track',
        eventName: 'Signed Up',
        version: '1-0-1',
        jsonSchema: { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } },
      })
      await store.saveSchema(v2.stored)
      const deps = { store, validator, formatter, projects }
      expect(await replayFailedEvents(deps, 'plan')).toMatchObject({
        examined: 3,
        replayed: 2,
        stillFailing: 1,
      })
      expect(await replayFailedEvents(deps, 'plan')).toMatchObject({
        examined: 1,
        replayed: 0,
        stillFailing: 1,
      })
      const stored = await store.queryEvents('plan', {})
      expect(stored.events.map((e) => e.messageId).sort()).toEqual(
        ['x1', expect.stringMatching(/^replay-/)].sort(),
      )
      expect(stored.events.every((e) => e.schema?.version === '1-0-1')).toBe(true)
      const left = await store.listFailedEvents('plan', {})
      expect(left.failedEvents).toHaveLength(1)
      expect(left.failedEvents[0].replayAttempts).toBe(2)
    })

    it('should keep the latest version of a rejected messageId: a changed re-send was answered rejected and lost', async () => {
      await makeProject('versions')
      const v1 = {
        type: 'track',
        name: 'x\u0001',
        userId: 'u',
        messageId: 'same-mid',
        properties: { plan: 'A' },
      }
      const v2 = { ...v1, properties: { plan: 'B', seats: 99 } }
      expect(await service.ingest([v1], { projectId: 'versions' })).toMatchObject({ rejected: 1 })
      expect(await service.ingest([v2], { projectId: 'versions' })).toMatchObject({ rejected: 1 })
      let kept = (await store.listFailedEvents('versions', {})).failedEvents
      expect(kept.map((f) => f.payload)).toEqual([v2])
      // Twice in one request: the later one is kept.
      const v3 = { ...v1, properties: { plan: 'C' } }
      expect(await service.ingest([v1, v3], { projectId: 'versions' })).toMatchObject({ rejected: 2 })
      kept = (await store.listFailedEvents('versions', {})).failedEvents
      expect(kept.map((f) => f.payload)).toEqual([v3])
      // An identical retry changes nothing but its receive time.
      expect(await service.ingest([v3], { projectId: 'versions' })).toMatchObject({ rejected: 1 })
      expect((await store.listFailedEvents('versions', {})).failedEvents.map((f) => f.payload)).toEqual([v3])
    })

    it('should close a failed event once a corrected re-send under its messageId is stored', async () => {
      // A trial: the failed record stayed pending and every replay counted it as still failing.
      await makeProject('resend')
      const bad = { type: 'track', name: 'x\u0001y', userId: 'u', messageId: 'fx-1' }
      const other = { type: 'track', name: 'x\u0001z', userId: 'u', messageId: 'fx-2' }
      expect(await service.ingest([bad, other], { projectId: 'resend' })).toMatchObject({ rejected: 2 })
      expect(await service.ingest([{ ...bad, name: 'Fixed' }], { projectId: 'resend' })).toMatchObject({
        accepted: 1,
      })
      const deps = { store, validator, formatter, projects }
      expect(await replayFailedEvents(deps, 'resend')).toMatchObject({
        examined: 2,
        replayed: 0,
        duplicates: 1,
        stillFailing: 1,
      })
      const left = await store.listFailedEvents('resend', {})
      expect(left.failedEvents.map((f) => (f.payload as { messageId: string }).messageId)).toEqual(['fx-2'])
      expect((await store.queryEvents('resend', {})).events.map((e) => e.name)).toEqual(['Fixed'])
    })

    it('should store every failed event exactly once when replays run at the same time', async () => {
      // A trial's 4 simultaneous replays of 200 failed events left 4 events on PostgreSQL: the second
      // replay's bookkeeping removed the failed events under the first, which took that for an erasure.
      await makeProject('race', { enforcement: 'block' })
      const plan = new TrackingPlan('race')
      const strict = { type: 'object', required: ['plan'], properties: { plan: { enum: ['free'] } } }
      await store.saveSchema(
        plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-0', jsonSchema: strict })
          .stored,
      )
      projects.invalidate('race')
      const sent = Array.from({ length: 200 }, (_, i) =>
        track(`r${i}`, i % 2 === 0 ? { messageId: undefined } : {}),
      )
      expect(await service.ingest(sent, { projectId: 'race' })).toMatchObject({ rejected: 200 })
      const fixed = { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } }
      await store.saveSchema(
        plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-1', jsonSchema: fixed })
          .stored,
      )
      const deps = { store, validator, formatter, projects }
      const reports = await Promise.all(Array.from({ length: 4 }, () => replayFailedEvents(deps, 'race')))
      const total = (k: 'replayed' | 'duplicates') => reports.reduce((n, r) => n + r[k], 0)
      expect(total('replayed')).toBe(200)
      expect(total('duplicates')).toBe(0)
      expect((await store.queryEvents('race', { limit: 1000 })).events).toHaveLength(200)
      expect((await store.listFailedEvents('race', {})).failedEvents).toHaveLength(0)
    })

    it('should keep a 50,000-deep rejected event without failing the group commit it shares', async () => {
      let deep: unknown = 'leaf'
      for (let i = 0; i < 50_000; i++) deep = [deep]
      const [hostile, neighbour] = await Promise.all([
        service.ingest([track('deep', { properties: { deep } })], { projectId: 'p1' }),
        service.ingest([track('neighbour')], { projectId: 'p1' }),
      ])
      expect(hostile).toMatchObject({ rejected: 1, results: [{ errors: [{ code: 'too_deep' }] }] })
      expect(neighbour).toMatchObject({ accepted: 1 })
      const failed = await store.listFailedEvents('p1', {})
      expect(failed.failedEvents).toHaveLength(1)
      expect(JSON.stringify(failed.failedEvents[0].payload)).toContain('truncated')
    })

    it('should refuse ingest for a project that does not exist', async () => {
      await expect(service.ingest([track('z')], { projectId: 'nope' })).rejects.toMatchObject({
        code: 'not_found',
      })
    })
  })
}
