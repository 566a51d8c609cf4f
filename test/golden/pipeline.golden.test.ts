import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createEventFormatter } from '../../src/enrich/event-formatter.js'
import { DEFAULT_PROJECT_SETTINGS, type ProjectSettings } from '../../src/store/project-types.js'
import { TrackingPlan } from '../../src/tracking-plan/tracking-plan.js'
import { EventValidator } from '../../src/validate/event-validator.js'

/**
 * Golden test of the first two stages: a fixed batch (input.golden.json) through validate → format, with
 * a fixed clock, id generator and session salt, must give exactly expected.golden.json. Any change to
 * enrichment shows up in review as a diff of that file.
 *
 * Regenerate after an intended change:  UPDATE_GOLDEN=1 npx vitest run test/golden
 */
interface GoldenInput {
  note: string
  event: unknown
  clientIp?: string
  userAgent?: string
  settings?: Partial<ProjectSettings>
}

const INPUT = fileURLToPath(new URL('./input.golden.json', import.meta.url))
const EXPECTED = fileURLToPath(new URL('./expected.golden.json', import.meta.url))
const RECEIVED_AT = new Date('2026-11-27T12:00:00.000Z')

function runPipeline(inputs: GoldenInput[]) {
  let n = 0
  const formatter = createEventFormatter({
    generateId: () => `0193a6b0-0000-7000-8000-${String(++n).padStart(12, '0')}`,
    sessionSalt: 'golden-salt',
  })
  const validator = new EventValidator()
  const plan = new TrackingPlan('golden')
  plan.register({
    eventType: 'track',
    eventName: 'Order Completed',
    version: '1-0-0',
    jsonSchema: {
      type: 'object',
      required: ['order_id', 'revenue'],
      properties: { order_id: { type: 'string' }, revenue: { type: 'number', minimum: 0 } },
    },
  })
  return inputs.map(({ note, event, clientIp, userAgent, settings }) => {
    const merged: ProjectSettings = { ...DEFAULT_PROJECT_SETTINGS, ...settings }
    const v = validator.validate(event, { trackingPlan: plan, enforcement: merged.enforcement })
    if (!v.ok) return { note, validation: { ok: false, errors: v.errors } }
    const result = formatter.format(v.event, {
      projectId: 'golden',
      receivedAt: RECEIVED_AT,
      clientIp,
      userAgent,
      settings: merged,
      schema: v.schema,
      warnings: v.warnings,
    })
    return { note, result }
  })
}

describe('validate → format golden output', () => {
  it('should match expected.golden.json', () => {
    const inputs = JSON.parse(readFileSync(INPUT, 'utf8')) as GoldenInput[]
    const actual = JSON.parse(JSON.stringify(runPipeline(inputs)))
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(EXPECTED, `${JSON.stringify(actual, null, 2)}\n`)
    const expected = JSON.parse(readFileSync(EXPECTED, 'utf8'))
    expect(actual).toEqual(expected)
  })

  it('should cover every event type and every outcome', () => {
    const inputs = JSON.parse(readFileSync(INPUT, 'utf8')) as GoldenInput[]
    const results = runPipeline(inputs)
    const types = new Set(inputs.map((i) => (i.event as { type: string }).type))
    expect([...types].sort()).toEqual(
      [
        'alias',
        'api_request',
        'group',
        'identify',
        'interaction',
        'page',
        'performance',
        'screen',
        'track',
      ].sort(),
    )
    const kinds = new Set(results.map((r) => r.result?.kind ?? 'invalid'))
    expect([...kinds].sort()).toEqual(['drop', 'invalid', 'ok', 'reject'])
  })
})
