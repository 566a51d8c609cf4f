import { randomUUID } from 'node:crypto'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { SERVE_KEYS } from './serve-process.js'

/** One request's worth of events, kept until the server answered 2xx (then it is never changed). */
interface Batch {
  route: 'native' | 'segment'
  events: Record<string, unknown>[]
  valid: string[]
  invalid: string[]
  /** Attempts so far (> 1 = a retry of the same messageIds). */
  attempts: number
}

/** What clients were told, across server lifetimes. */
export class Ledger {
  readonly run = randomUUID().slice(0, 8)
  /** messageId → stored id as answered (segment answers carry no id: ''). */
  readonly acked = new Map<string, string>()
  /** messageIds answered `rejected` (must be in the failed-event store). */
  readonly rejected = new Set<string>()
  /** Batches without a 2xx yet: retried first. */
  readonly pending: Batch[] = []
  /** Batches answered 2xx, some re-sent later as a client that lost the answer would. */
  readonly done: Batch[] = []
  requests = 0
  retries = 0
  replays = 0
  /** Events answered `duplicate` (retries of committed batches, and replays). */
  duplicateAnswers = 0
  /** Answers that are neither 2xx nor a connection failure (must be 503/429 only). */
  readonly otherStatuses = new Map<number, number>()
  /** An `accepted` for a messageId acknowledged before: a duplicate the server did not notice. */
  doubleAccepts = 0
  /** Error codes of the non-2xx answers. */
  readonly errorCodes = new Map<string, number>()
  /** 429/503 answers without a Retry-After header. */
  missingRetryAfter = 0
  /** Requests that failed without an HTTP answer (refused, reset, or no answer within 10 s). */
  connectionErrors = 0
  #seq = 0

  nextBatch(): Batch {
    const route = Math.random() < 0.5 ? 'native' : 'segment'
    const size = 10 + Math.floor(Math.random() * 60)
    const batch: Batch = { route, events: [], valid: [], invalid: [], attempts: 0 }
    for (let i = 0; i < size; i++) {
      const messageId = `${this.run}-${this.#seq++}`
      const bad = Math.random() < 0.05 // no event name: rejected, kept as a failed event
      const name = bad ? undefined : `Load ${i % 7}`
      const props = { i, pad: 'x'.repeat(Math.floor(Math.random() * 300)) }
      batch.events.push(
        route === 'native'
          ? { type: 'track', name, messageId, userId: `u${i % 50}`, properties: props }
          : { type: 'track', event: name, messageId, userId: `u${i % 50}`, properties: props },
      )
      ;(bad ? batch.invalid : batch.valid).push(messageId)
    }
    return batch
  }
}

async function send(url: string, batch: Batch): Promise<Response> {
  const native = batch.route === 'native'
  return fetch(native ? `${url}/api/v1/events` : `${url}/v1/batch`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: native
        ? `Bearer ${SERVE_KEYS.write}`
        : `Basic ${Buffer.from(`${SERVE_KEYS.write}:`).toString('base64')}`,
      ...(batch.attempts > 1 ? { 'x-retry-count': String(batch.attempts - 1) } : {}),
    },
    body: JSON.stringify(
      native ? { events: batch.events } : { batch: batch.events, sentAt: new Date().toISOString() },
    ),
    signal: AbortSignal.timeout(10_000),
  })
}

function record(ledger: Ledger, batch: Batch, body: unknown): void {
  if (batch.route === 'native') {
    const results = (body as { results: { index: number; status: string; id?: string }[] }).results
    for (const r of results) {
      const messageId = batch.events[r.index].messageId as string
      if (r.status === 'rejected') ledger.rejected.add(messageId)
      else if (r.status === 'accepted' || r.status === 'duplicate') {
        if (r.status === 'duplicate') ledger.duplicateAnswers++
        else if (ledger.acked.has(messageId)) ledger.doubleAccepts++
        ledger.acked.set(messageId, r.id ?? '')
      }
    }
  } else {
    for (const m of batch.valid) if (!ledger.acked.has(m)) ledger.acked.set(m, '')
    for (const m of batch.invalid) ledger.rejected.add(m)
  }
}

/**
 * `workers` clients posting batches until `shouldStop()`: a batch without a 2xx (connection refused or
 * reset, 503) is retried with the same messageIds; 1 in 10 requests re-sends a batch already answered.
 */
export async function runLoad(
  url: string,
  ledger: Ledger,
  options: { workers: number; shouldStop: () => boolean; onAck?: () => void },
): Promise<void> {
  const worker = async () => {
    while (!options.shouldStop()) {
      let batch: Batch
      let replay = false
      if (ledger.pending.length > 0) {
        batch = ledger.pending.shift() as Batch
        ledger.retries++
      } else if (ledger.done.length > 0 && Math.random() < 0.1) {
        batch = ledger.done[Math.floor(Math.random() * ledger.done.length)]
        replay = true
        ledger.replays++
      } else batch = ledger.nextBatch()
      batch.attempts++
      ledger.requests++
      try {
        const res = await send(url, batch)
        if (res.status === 200) {
          record(ledger, batch, await res.json())
          if (!replay) ledger.done.push(batch)
          options.onAck?.()
          continue
        }
        const text = await res.text()
        let code = 'unknown'
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? 'unknown'
        } catch {}
        ledger.errorCodes.set(code, (ledger.errorCodes.get(code) ?? 0) + 1)
        if (!res.headers.get('retry-after')) ledger.missingRetryAfter++
        ledger.otherStatuses.set(res.status, (ledger.otherStatuses.get(res.status) ?? 0) + 1)
      } catch {
        // connection refused / reset: the server is down; retry after it is back
        ledger.connectionErrors++
      }
      if (!replay) ledger.pending.push(batch)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  await Promise.all(Array.from({ length: options.workers }, worker))
}

/** What the database holds for a ledger's run. */
export interface StoredState {
  /** messageId → rows with it. */
  counts: Map<string, number>
  /** messageIds found in failed-event payloads. */
  failed: Set<string>
  integrity: string
}

export async function readStored(databaseUrl: string, run: string): Promise<StoredState> {
  const like = `${run}-%`
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new BetterSqlite3(databaseUrl.slice('sqlite:'.length))
    try {
      const integrity = db.pragma('integrity_check', { simple: true }) as string
      const rows = db
        .prepare(
          'select message_id as m, count(*) as n from events where message_id like ? group by message_id',
        )
        .all(like) as { m: string; n: number }[]
      const failed = db.prepare('select payload from failed_events').all() as { payload: string }[]
      return {
        counts: new Map(rows.map((r) => [r.m, r.n])),
        failed: new Set(failed.map((f) => (JSON.parse(f.payload) as { messageId?: string }).messageId ?? '')),
        integrity,
      }
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const rows = await client.query(
      'select message_id as m, count(*)::int as n from events where message_id like $1 group by message_id',
      [like],
    )
    const failed = await client.query('select payload from failed_events')
    return {
      counts: new Map(rows.rows.map((r: { m: string; n: number }) => [r.m, r.n])),
      failed: new Set(
        failed.rows.map((f: { payload: unknown }) => {
          const p = typeof f.payload === 'string' ? JSON.parse(f.payload) : f.payload
          return (p as { messageId?: string }).messageId ?? ''
        }),
      ),
      integrity: 'ok',
    }
  } finally {
    await client.end()
  }
}

/** The four figures of the suite: acknowledged / stored / duplicated / lost, and rejected ones missing. */
export interface DurabilityReport {
  acknowledged: number
  stored: number
  duplicated: number
  lost: number
  rejected: number
  rejectedMissing: number
}

export function compare(ledger: Ledger, state: StoredState): DurabilityReport {
  let lost = 0
  for (const m of ledger.acked.keys()) if (!state.counts.has(m)) lost++
  let duplicated = 0
  let stored = 0
  for (const n of state.counts.values()) {
    stored++
    if (n > 1) duplicated += n - 1
  }
  let rejectedMissing = 0
  for (const m of ledger.rejected) if (!state.failed.has(m)) rejectedMissing++
  return {
    acknowledged: ledger.acked.size,
    stored,
    duplicated,
    lost,
    rejected: ledger.rejected.size,
    rejectedMissing,
  }
}
