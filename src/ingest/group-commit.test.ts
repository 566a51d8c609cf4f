import { describe, expect, it } from 'vitest'
import { AppError } from '../errors/app-error.js'
import { GroupCommitQueue } from './group-commit.js'

function recordingQueue(
  options: {
    maxGroupItems?: number
    maxQueuedItems?: number
    fail?: boolean
    concurrency?: number
    minConcurrentItems?: number
    failsQueued?: (err: unknown) => boolean
  } = {},
) {
  const groups: number[][][] = []
  let release: (() => void) | undefined
  let gate: Promise<void> | undefined
  const queue = new GroupCommitQueue<number[], number>({
    sizeOf: (u) => u.length,
    maxGroupItems: options.maxGroupItems ?? 10,
    maxQueuedItems: options.maxQueuedItems ?? 1000,
    concurrency: options.concurrency,
    minConcurrentItems: options.minConcurrentItems,
    write: async (units) => {
      groups.push(units)
      if (gate) await gate
      if (options.fail) throw new Error('disk I/O error')
      return units.map((u) => u.reduce((a, b) => a + b, 0))
    },
    mapError: (e) => new AppError('store_unavailable', undefined, { cause: e, retryAfterSeconds: 2 }),
    failsQueued: options.failsQueued,
  })
  return {
    queue,
    groups,
    hold() {
      gate = new Promise((r) => {
        release = r
      })
    },
    release() {
      release?.()
      gate = undefined
    },
  }
}

describe('GroupCommitQueue', () => {
  it('should write concurrent submissions in one group and answer each caller with its own result', async () => {
    const { queue, groups } = recordingQueue()
    const results = await Promise.all([queue.submit([1, 2]), queue.submit([3]), queue.submit([4, 5, 6])])
    expect(results).toEqual([3, 3, 15])
    expect(groups).toHaveLength(1)
  })

  it('should never put more than maxGroupItems in a group, nor split a unit', async () => {
    const { queue, groups } = recordingQueue({ maxGroupItems: 4 })
    await Promise.all([queue.submit([1, 1, 1]), queue.submit([1, 1]), queue.submit([1, 1, 1, 1, 1, 1])])
    expect(groups.map((g) => g.map((u) => u.length))).toEqual([[3], [2], [6]])
  })

  it('should refuse with overloaded and a Retry-After when the queue is full', async () => {
    const q = recordingQueue({ maxGroupItems: 2, maxQueuedItems: 4 })
    q.hold()
    const first = q.queue.submit([1, 1]) // being written, no longer queued
    await new Promise((r) => setImmediate(r))
    const queued = [q.queue.submit([1, 1]), q.queue.submit([1, 1])]
    await expect(q.queue.submit([1])).rejects.toMatchObject({ code: 'overloaded', statusCode: 503 })
    const err = await q.queue.submit([1]).catch((e: AppError) => e)
    expect((err as AppError).retryAfterSeconds).toBeGreaterThan(0)
    q.release()
    await expect(Promise.all([first, ...queued])).resolves.toEqual([2, 2, 2])
  })

  it('should refuse with overloaded once the waiting units weigh more than maxQueuedBytes', async () => {
    // Counting events alone let 50,000 events of 32 KB wait on a slow database (1.6 GB).
    const groups: number[][][] = []
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const queue = new GroupCommitQueue<number[], number>({
      sizeOf: (u) => u.length,
      bytesOf: (u) => u[0],
      maxQueuedBytes: 1000,
      write: async (units) => {
        groups.push(units)
        await gate
        return units.map((u) => u[0])
      },
    })
    const first = queue.submit([600]) // being written: no longer waiting
    await new Promise((r) => setImmediate(r))
    const waiting = [queue.submit([600]), queue.submit([300])]
    await expect(queue.submit([200])).rejects.toMatchObject({ code: 'overloaded', statusCode: 503 })
    release()
    await expect(Promise.all([first, ...waiting])).resolves.toEqual([600, 600, 300])
    // Written: the bytes are free again, and one unit heavier than the bound is still taken alone.
    await expect(queue.submit([5000])).resolves.toBe(5000)
  })

  it('should reject every caller of a failed write with the mapped error, and keep working after', async () => {
    const q = recordingQueue({ fail: true })
    const outcomes = await Promise.allSettled([q.queue.submit([1]), q.queue.submit([2])])
    for (const o of outcomes) {
      expect(o.status).toBe('rejected')
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'store_unavailable' })
    }
  })

  it('should answer the units queued behind a write the store could not take with its error, at once', async () => {
    // Each queued group used to wait out the same lock in turn: 503s after 10-15 s instead of 5.
    const q = recordingQueue({ fail: true, failsQueued: () => true })
    q.hold()
    const first = q.queue.submit([1])
    await new Promise((r) => setImmediate(r))
    const queued = [q.queue.submit([2]), q.queue.submit([3])]
    q.release()
    const outcomes = await Promise.allSettled([first, ...queued])
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(q.groups).toEqual([[[1]]]) // the queued units were never written
    expect(q.queue.depth).toBe(0)
    // Without the rule they get their own write.
    const patient = recordingQueue({ fail: true })
    patient.hold()
    const p1 = patient.queue.submit([1]).catch(() => 'failed')
    await new Promise((r) => setImmediate(r))
    const p2 = patient.queue.submit([2]).catch(() => 'failed')
    patient.release()
    await Promise.all([p1, p2])
    expect(patient.groups).toEqual([[[1]], [[2]]])
  })

  it('should write everything accepted before close() and refuse what comes after', async () => {
    const q = recordingQueue()
    q.hold()
    const pending = [q.queue.submit([1]), q.queue.submit([2])]
    const closed = q.queue.close()
    await expect(q.queue.submit([3])).rejects.toMatchObject({ code: 'overloaded' })
    q.release()
    await closed
    await expect(Promise.all(pending)).resolves.toEqual([1, 2])
  })

  it('should start a concurrent write only when enough items wait, and otherwise group them behind the one in flight', async () => {
    const q = recordingQueue({ concurrency: 2, minConcurrentItems: 4, maxGroupItems: 10 })
    q.hold()
    const first = q.queue.submit([1])
    await new Promise((r) => setImmediate(r)) // the first write is in flight
    const small = [q.queue.submit([2]), q.queue.submit([3])]
    await new Promise((r) => setImmediate(r))
    expect(q.groups).toHaveLength(1) // two waiting items: below the threshold, no second transaction
    const big = q.queue.submit([4, 5])
    await new Promise((r) => setImmediate(r))
    expect(q.groups).toHaveLength(2) // four waiting items: a second, concurrent group with all of them
    expect(q.groups[1]).toEqual([[2], [3], [4, 5]])
    q.release()
    await expect(Promise.all([first, ...small, big])).resolves.toEqual([1, 2, 3, 9])
  })
})
