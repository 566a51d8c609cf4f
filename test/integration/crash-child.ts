/**
 * Child process of crash.test.ts: ingests batches into the SQLite file given as argv[2] until killed, and
 * prints `ack <id> <messageId>` for every event once insertBatch resolved (acknowledged = committed).
 * Each batch also re-sends messageIds acknowledged in an earlier round (argv[3], a file of lines), as a
 * client retrying after a timeout would.
 */
import { readFileSync, writeSync } from 'node:fs'
import { v7 as uuidv7 } from 'uuid'
import type { AnalyticsEvent } from '../../src/schema/analytics-event.js'
import { createStore } from '../../src/store/create-store.js'

const [file, retryFile] = process.argv.slice(2)
const retries = retryFile ? readFileSync(retryFile, 'utf8').split('\n').filter(Boolean) : []
const store = await createStore(`sqlite:${file}`, { migrate: true })
const run = uuidv7()

function event(messageId: string): AnalyticsEvent {
  const now = new Date().toISOString()
  return {
    id: uuidv7(),
    projectId: 'crash',
    type: 'track',
    name: 'Tick',
    messageId,
    userId: 'u',
    anonymousId: null,
    sessionId: null,
    groupId: null,
    previousId: null,
    timestamp: now,
    originalTimestamp: null,
    sentAt: null,
    receivedAt: now,
    properties: { run, pad: 'x'.repeat(200) },
    traits: null,
    context: {},
    status: 'received',
    error: null,
    attempts: 0,
    tags: [],
    schema: null,
    violations: [],
  }
}

writeSync(1, 'ready\n')
for (let b = 0; ; b++) {
  const batch = Array.from({ length: 200 }, (_, i) => event(`${run}-${b}-${i}`))
  for (let r = 0; r < 5 && retries.length > 0; r++) batch.push(event(retries[(b * 5 + r) % retries.length]))
  const out = await store.insertBatch(batch, [])
  // One write per batch, after the commit resolved: everything printed here was acknowledged.
  writeSync(1, out.map((o, i) => `ack ${o.status} ${o.id} ${batch[i].messageId}\n`).join(''))
}
