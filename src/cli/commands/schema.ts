import { readFile } from 'node:fs/promises'
import { AppError } from '../../errors/app-error.js'
import type { EventType } from '../../schema/event-types.js'
import type { StoredSchema } from '../../store/schema-types.js'
import type { CompatibilityReport } from '../../tracking-plan/compatibility.js'
import { TrackingPlan } from '../../tracking-plan/tracking-plan.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import {
  DATABASE_HELP,
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  printJson,
  recordCliAudit,
  runCommand,
  unknownActionError,
  usageError,
  withDatabase,
} from '../command-context.js'

export const SCHEMA_HELP = `Usage: tally schema add TYPE NAME VERSION FILE|-   register a tracking-plan schema version
       tally schema list                            every schema version (without the JSON Schemas)
       tally schema show TYPE NAME [VERSION]        one version (the latest by default)
       [--db URL] [--project ID]

Works on the project's tracking plan straight in the database (no server needed), through the same
rules as PUT /api/v1/schemas/:type/:name/:version:
  TYPE     track, page, screen, identify, group, alias, performance, interaction, api_request
  NAME     the event name, or "*" for every event of the type (identify, group and alias use "*")
  VERSION  SchemaVer MODEL-REVISION-ADDITION (e.g. 1-0-0), greater than every registered version
  FILE     a JSON Schema for the event's properties (traits for identify/group); "-" reads stdin

"add" prints {"schema", "compatibility"}: the report against the previous version lists each change,
whether it is breaking, and advice when a breaking change was not registered as a new MODEL. A summary
line goes to stderr. A running server picks the new version up within its plan cache's TTL (30 s).

Options:
${DATABASE_HELP}

Exit status: 0 ok, 1 refused (invalid schema, version exists or not newer, not found) or the database
failed, 2 usage error.`

async function readSchemaFile(file: string, io: CliIo): Promise<Record<string, unknown>> {
  let text: string
  try {
    if (file === '-') {
      const chunks: Buffer[] = []
      for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk))
      text = Buffer.concat(chunks).toString('utf8')
    } else {
      text = await readFile(file, 'utf8')
    }
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    // JSON.parse quotes the start of the text, newlines and all: one line, as every CLI error is.
    const reason = (err as Error).message.replace(/\s+/g, ' ')
    throw new AppError('schema_invalid', `${file} is not JSON: ${reason}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError('schema_invalid', `${file} must hold a JSON Schema object`)
  }
  return parsed as Record<string, unknown>
}

/** One human line about a compatibility report (stderr). */
export function describeCompatibility(report: CompatibilityReport | null): string {
  if (report === null) return 'first version: nothing to compare'
  const breaking = report.changes.filter((c) => c.breaking)
  const head = report.compatible
    ? `compatible with ${report.previousVersion} (${report.changes.length} change${report.changes.length === 1 ? '' : 's'})`
    : `BREAKING against ${report.previousVersion}: ${breaking.map((c) => `${c.path || '/'} ${c.kind}`).join(', ')}`
  return report.bumpAdvice ? `${head}\n  advice: ${report.bumpAdvice}` : head
}

function withoutProject({ projectId: _p, ...schema }: StoredSchema) {
  return schema
}

/** `tally schema`: see SCHEMA_HELP. */
export async function schemaCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('schema', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, DATABASE_OPTIONS)
    if (values.help) {
      io.stdout.write(`${SCHEMA_HELP}\n`)
      return 0
    }
    const [action, ...args] = positionals
    if (action === 'add') {
      expectPositionals(args, 4, 4, 'TYPE NAME VERSION FILE')
      const [type, name, version, file] = args
      const jsonSchema = await readSchemaFile(file, io)
      return withDatabase(
        values,
        io,
        async ({ store, projectId }) => {
          // The plan as stored, so version order holds whoever registered the earlier versions.
          const plan = TrackingPlan.fromStoredSchemas(await store.listSchemas(projectId), projectId)
          const { stored, compatibility } = plan.register({
            eventType: type as EventType,
            eventName: name,
            version,
            jsonSchema,
          })
          await store.saveSchema(stored)
          await recordCliAudit(store, io, {
            projectId,
            action: 'schema.registered',
            target: `${type}/${name}/${version}`,
            details: { compatibility: compatibility ?? null },
          })
          await printJson(io, { schema: withoutProject(stored), compatibility })
          io.stderr.write(
            `tally schema: registered ${type}/${name} ${version} — ${describeCompatibility(compatibility)}\n`,
          )
          return 0
        },
        { create: true },
      )
    }
    if (action === 'list') {
      expectPositionals(args, 0, 0, '')
      return withDatabase(values, io, async ({ store, projectId }) => {
        const plan = TrackingPlan.fromStoredSchemas(await store.listSchemas(projectId), projectId)
        const schemas = plan.listSchemas().map(({ eventType, eventName, version, createdAt, unusable }) => ({
          eventType,
          eventName,
          version,
          createdAt,
          ...(unusable === undefined ? {} : { unusable }),
        }))
        await printJson(io, { schemas })
        return 0
      })
    }
    if (action === 'show') {
      expectPositionals(args, 2, 3, 'TYPE NAME')
      const [type, name, version] = args
      return withDatabase(values, io, async ({ store, projectId }) => {
        const plan = TrackingPlan.fromStoredSchemas(await store.listSchemas(projectId), projectId)
        const schema = plan.getSchema(type, name, version)
        if (!schema) {
          throw new AppError(
            'not_found',
            `no schema ${type}/${name}${version ? ` ${version}` : ''} in project ${projectId}`,
          )
        }
        await printJson(io, withoutProject(schema))
        return 0
      })
    }
    throw unknownActionError(action, 'add, list or show')
  })
}

export const schemaCli: CliCommand = {
  summary: 'Tracking-plan schemas: add (with compatibility report), list, show',
  run: schemaCommand,
}
