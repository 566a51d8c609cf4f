import { PassThrough, Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { parseDuration, purgeCommand } from './purge.js'

describe('parseDuration', () => {
  it('should read whole numbers with a unit and refuse everything else', () => {
    expect(parseDuration('90d')).toBe(90 * 86_400_000)
    expect(parseDuration('12h')).toBe(12 * 3_600_000)
    expect(parseDuration('30m')).toBe(1_800_000)
    expect(parseDuration('2w')).toBe(14 * 86_400_000)
    expect(parseDuration('45s')).toBe(45_000)
    for (const bad of ['0d', '-1d', '1.5d', '90', 'd', '90 days', '10y', '999999999d', '', 'abc']) {
      expect(parseDuration(bad), bad).toBeNull()
    }
  })
})

async function purgeAt(now: Date, argv: string[]) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: string[] = []
  stdout.on('data', (d) => out.push(String(d)))
  const err: string[] = []
  stderr.on('data', (d) => err.push(String(d)))
  const code = await purgeCommand(argv, { stdin: Readable.from([]), stdout, stderr, env: {} }, () => now)
  return { code, stdout: out.join(''), stderr: err.join('') }
}

describe('tally purge', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(async () => {
    db = tempDatabase()
    const events = [
      { type: 'track', name: 'A', userId: 'u1', messageId: 'a' },
      { type: 'track', name: 'B', userId: 'u2', messageId: 'b' },
      { type: 'track', userId: 'u3' }, // rejected: a failed event
    ]
    await runCli(['import', '-', '--db', db.url], { stdin: ndjson(...events) })
  })
  afterEach(() => db.remove())

  it('should delete only what was received before now minus the duration', async () => {
    const kept = await runCli(['purge', '--older-than', '1d', '--db', db.url])
    expect(kept.code).toBe(0)
    expect(JSON.parse(kept.stdout)).toMatchObject({ project: 'default', events: 0, failedEvents: 0 })

    const later = new Date(Date.now() + 2 * 86_400_000)
    const purged = await purgeAt(later, ['--older-than', '1d', '--db', db.url])
    expect(purged.code).toBe(0)
    expect(JSON.parse(purged.stdout)).toEqual({
      cutoff: new Date(later.getTime() - 86_400_000).toISOString(),
      project: 'default',
      events: 2,
      failedEvents: 1,
    })
    expect(purged.stderr).toMatch(/deleted 2 events and 1 failed events/)
    expect(JSON.parse((await runCli(['query', '--db', db.url])).stdout).events).toEqual([])
  })

  it('should refuse a missing or nonsensical duration with exit 2', async () => {
    for (const argv of [
      ['purge'],
      ['purge', '--older-than', '0d'],
      ['purge', '--older-than', 'yesterday'],
      ['purge', '--older-than', '-5h'],
      ['purge', '--older-than', '90d', '--all-projects', '--project', 'x'],
      ['purge', 'now'],
    ]) {
      const run = await runCli([...argv, '--db', db.url])
      expect(run.code, argv.join(' ')).toBe(2)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('should say that a negative duration is invalid, whether written with a space or "="', async () => {
    for (const argv of [['--older-than', '-1d'], ['--older-than=-1d']]) {
      const run = await runCli(['purge', ...argv, '--db', db.url])
      expect(run.code, argv.join(' ')).toBe(2)
      expect(run.stderr).toBe(
        'tally purge: --older-than must be a positive duration; "-1d" is negative (e.g. 90d purges what was received more than 90 days ago); see "tally purge --help" (usage)\n',
      )
    }
    // The same rule for every option: a negative number reaches the option's own check…
    const limit = await runCli(['query', '--limit', '-5', '--db', db.url])
    expect(limit.stderr).toMatch(/^tally query: --limit must be >= 1 \(got -5\);/)
    // …and a value that is really missing is named as such, not "ambiguous".
    const missing = await runCli(['purge', '--older-than', '--all-projects', '--db', db.url])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe(
      'tally purge: --older-than is missing its value (for a value starting with "-", write --older-than=-…); see "tally purge --help" (usage)\n',
    )
  })
})
