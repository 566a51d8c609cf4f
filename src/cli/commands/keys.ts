import { AppError } from '../../errors/app-error.js'
import { createApiKeyRecord } from '../../http/auth/api-keys.js'
import type { ApiKeyRecord } from '../../store/event-store.js'
import { API_KEY_ROLES, type ApiKeyRole } from '../../store/project-types.js'
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

export const KEYS_HELP = `Usage: tally keys create --role write|read|admin [--name NAME]
       tally keys list [--all]
       tally keys revoke ID
       [--db URL] [--project ID]

Manages the project's API keys straight in the database (no server needed). --project names a project
that exists: "default" (created on first use), or one made with "tally projects create ID".
  create   makes a random key and prints it ONCE as JSON
           ({"id","projectId","role","name","prefix","createdAt","revokedAt","secret"});
           only its SHA-256 is stored, so save the secret now
           roles: write (ingest only — safe in a browser), read (query, stats, export), admin (everything)
  list     active keys without secrets (--all includes revoked ones)
  revoke   revokes key ID and prints it (revokedAt set); a running server stops accepting it
           within its key cache TTL (10 s)

Options:
  --role ROLE    write | read | admin (create)
  --name NAME    a label for the key (create)
  --all          include revoked keys (list)
${DATABASE_HELP}

Exit status: 0 ok, 1 no such key or the database failed, 2 usage error.`

function publicView({ hash: _hash, ...key }: ApiKeyRecord) {
  return key
}

/** `tally keys`: see KEYS_HELP. */
export async function keysCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('keys', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...DATABASE_OPTIONS,
      role: { type: 'string' },
      name: { type: 'string' },
      all: { type: 'boolean' },
    })
    if (values.help) {
      io.stdout.write(`${KEYS_HELP}\n`)
      return 0
    }
    const [action, ...args] = positionals
    if (action === 'create') {
      expectPositionals(args, 0, 0, '')
      const role = values.role as ApiKeyRole | undefined
      if (role === undefined || !API_KEY_ROLES.includes(role)) {
        throw usageError(
          `--role must be one of ${API_KEY_ROLES.join(', ')}${role === undefined ? '' : ` (got ${JSON.stringify(role)})`}`,
        )
      }
      if (values.name !== undefined && (values.name.length === 0 || values.name.length > 200)) {
        throw usageError('--name must be 1–200 characters')
      }
      return withDatabase(
        values,
        io,
        async ({ store, projectId }) => {
          const { secret, record } = createApiKeyRecord(projectId, role, { name: values.name ?? null })
          await store.saveApiKey(record)
          await recordCliAudit(store, io, {
            projectId,
            action: 'key.created',
            target: record.id,
            details: { role: record.role, name: record.name, prefix: record.prefix },
          })
          await printJson(io, { ...publicView(record), secret })
          io.stderr.write('tally keys: the secret is shown only now; only its hash is stored\n')
          return 0
        },
        { create: true },
      )
    }
    if (action === 'list') {
      expectPositionals(args, 0, 0, '')
      return withDatabase(values, io, async ({ store, projectId }) => {
        const keys = await store.listApiKeys(projectId)
        await printJson(io, {
          keys: keys.filter((k) => values.all || k.revokedAt === null).map(publicView),
        })
        return 0
      })
    }
    if (action === 'revoke') {
      expectPositionals(args, 1, 1, 'key ID')
      const id = args[0]
      return withDatabase(values, io, async ({ store, projectId }) => {
        if (!(await store.revokeApiKey(projectId, id))) {
          throw new AppError('not_found', `no active key ${JSON.stringify(id)} in project ${projectId}`)
        }
        await recordCliAudit(store, io, { projectId, action: 'key.revoked', target: id })
        // A document on stdout like every keys action: the key as it now is (revokedAt set).
        const revoked = (await store.listApiKeys(projectId)).find((k) => k.id === id)
        if (revoked) await printJson(io, publicView(revoked))
        io.stderr.write(`tally keys: revoked ${id}\n`)
        return 0
      })
    }
    throw unknownActionError(action, 'create, list or revoke')
  })
}

export const keysCli: CliCommand = {
  summary: 'API keys: create (secret shown once), list, revoke',
  run: keysCommand,
}
