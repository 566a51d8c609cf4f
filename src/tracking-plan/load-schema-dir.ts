import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AppError, isAppError } from '../errors/app-error.js'
import { EVENT_TYPES, type EventType } from '../schema/event-types.js'
import { compareSchemaVer, parseSchemaVer } from './schema-ver.js'
import { TrackingPlan } from './tracking-plan.js'

/**
 * Loads a tracking plan from a directory laid out as `DIR/<type>/<name>/<version>.json`, e.g.
 * `schemas/track/Order Completed/1-0-0.json`. `<name>` is URL-decoded, so a name holding `/` is written
 * `%2F`, and the type-wide schema `*` may be written `*` or `%2A`. Files and directories whose name starts
 * with `.` are ignored; anything else that does not fit the layout is an error (AppError `usage`,
 * `schema_invalid`, `schema_version_invalid`), with the offending path in the message.
 */
export async function loadSchemaDir(dir: string, projectId = 'cli'): Promise<TrackingPlan> {
  const plan = new TrackingPlan(projectId)
  for (const type of await listDir(dir, 'directory')) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw new AppError(
        'usage',
        `${join(dir, type)}: "${type}" is not an event type (${EVENT_TYPES.join(', ')})`,
      )
    }
    for (const nameDir of await listDir(join(dir, type), 'directory')) {
      let name: string
      try {
        name = decodeURIComponent(nameDir)
      } catch {
        throw new AppError('usage', `${join(dir, type, nameDir)}: not a valid URL-encoded event name`)
      }
      const files = await listDir(join(dir, type, nameDir), 'file')
      const versions = files.map((file) => {
        const path = join(dir, type, nameDir, file)
        const version = file.endsWith('.json') ? file.slice(0, -5) : ''
        const ver = parseSchemaVer(version)
        if (ver === null)
          throw new AppError(
            'schema_version_invalid',
            `${path}: expected <MODEL-REVISION-ADDITION>.json, e.g. 1-0-0.json`,
          )
        return { path, version, ver }
      })
      versions.sort((a, b) => compareSchemaVer(a.ver, b.ver))
      for (const { path, version } of versions) {
        let jsonSchema: Record<string, unknown>
        try {
          jsonSchema = JSON.parse(await readFile(path, 'utf8'))
        } catch (err) {
          throw new AppError('schema_invalid', `${path}: ${(err as Error).message}`, { cause: err })
        }
        try {
          plan.register({ eventType: type as EventType, eventName: name, version, jsonSchema })
        } catch (err) {
          if (isAppError(err))
            throw new AppError(err.code, `${path}: ${err.message}`, { cause: err, details: err.details })
          throw err
        }
      }
    }
  }
  return plan
}

async function listDir(dir: string, kind: 'file' | 'directory'): Promise<string[]> {
  let entries: import('node:fs').Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    throw new AppError(
      'usage',
      `cannot read schema directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        cause: err,
      },
    )
  }
  const names: string[] = []
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue
    const isKind = kind === 'file' ? entry.isFile() : entry.isDirectory()
    if (!isKind)
      throw new AppError(
        'usage',
        `${join(dir, entry.name)}: expected a ${kind} here (layout: DIR/<type>/<name>/<version>.json)`,
      )
    names.push(entry.name)
  }
  return names.sort()
}
