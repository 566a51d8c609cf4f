/**
 * `tally import` throughput: events/s into a fresh SQLite file, against reading + JSON.parse of the same
 * file (the ceiling) measured in the same run; then a re-import of the same file (every event a duplicate).
 *
 *   npx tsx bench/cli-import.ts [--events 100000] [--batch 500]
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { main } from '../src/cli/index.js'
import { readJsonItems } from '../src/cli/json-input.js'
import { generateCorpus } from './corpus.js'

const { values } = parseArgs({ options: { events: { type: 'string' }, batch: { type: 'string' } } })
const n = Number(values.events ?? 100_000)
const batches = values.batch ? [values.batch] : ['100', '500', '2000']

const dir = mkdtempSync(join(tmpdir(), 'tally-bench-import-'))
const file = join(dir, 'events.ndjson')
writeFileSync(file, `${generateCorpus(n).join('\n')}\n`)

async function parseOnly(): Promise<number> {
  const started = performance.now()
  let count = 0
  for await (const item of readJsonItems(createReadStream(file, { highWaterMark: 256 * 1024 }), 32 * 1024)) {
    if (item.text !== null) JSON.parse(item.text)
    count++
  }
  if (count !== n) throw new Error(`read ${count} of ${n}`)
  return n / ((performance.now() - started) / 1000)
}

async function importRun(url: string, batch: string): Promise<{ rate: number; summary: string }> {
  const stderr = new PassThrough()
  const err: string[] = []
  stderr.on('data', (d) => err.push(String(d)))
  const started = performance.now()
  const code = await main(['import', file, '--db', url, '--batch', batch, '--quiet'], {
    stdin: Readable.from([]),
    stdout: new PassThrough(),
    stderr,
    env: {},
  })
  const seconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`import exited ${code}: ${err.join('')}`)
  return { rate: n / seconds, summary: err.join('').trim() }
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')
const baseline = await parseOnly()
console.log(`corpus: ${n} events; read + JSON.parse (baseline): ${fmt(baseline)} events/s`)
for (const batch of batches) {
  const url = `sqlite:${join(dir, `b${batch}.db`)}`
  const fresh = await importRun(url, batch)
  const again = await importRun(url, batch)
  console.log(
    `--batch ${batch.padStart(4)}: import ${fmt(fresh.rate)} events/s (${(fresh.rate / baseline).toFixed(2)}× baseline); ` +
      `re-import (all duplicates) ${fmt(again.rate)} events/s (${(again.rate / baseline).toFixed(2)}×)`,
  )
  console.log(`  ${fresh.summary}\n  ${again.summary}`)
}
rmSync(dir, { recursive: true, force: true })
