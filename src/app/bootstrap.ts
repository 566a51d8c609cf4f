import type { NewAuditEntry } from '../audit/audit-log.js'
import type { Config } from '../config/config.js'
import { AppError } from '../errors/app-error.js'
import { createApiKeyRecord, hashApiKey } from '../http/auth/api-keys.js'
import type { ApiKeyRole, EventStore, Project } from '../store/event-store.js'
import { API_KEY_ROLES, DEFAULT_PROJECT_SETTINGS } from '../store/project-types.js'

/** The project `tally serve` creates on first start and the TALLY_*_KEY variables belong to. */
export const DEFAULT_PROJECT_ID = 'default'

/** Name given to keys `tally serve` creates itself, so they can be told from keys made by hand. */
const GENERATED_KEY_NAME = (role: ApiKeyRole) => `default ${role} key`
/**
 * Name given to keys set through TALLY_*_KEY (always so, so databases from earlier versions hold them under
 * it too): when the variable changes, the key stored under this name is the one it replaces.
 */
const ENV_KEY_NAME = (role: ApiKeyRole) => `TALLY_${role.toUpperCase()}_KEY`

/** One key of the default project as start-up reports it. */
export interface BootstrapKey {
  role: ApiKeyRole
  /** The secret: present only when it is new in this start (print it once) or came from the environment. */
  secret?: string
  /** First characters of the secret. */
  prefix: string
  source: 'environment' | 'generated' | 'existing'
}

export interface BootstrapResult {
  project: Project
  projectCreated: boolean
  keys: BootstrapKey[]
}

/**
 * Ensures the default project and one key per role. With TALLY_WRITE_KEY / READ / ADMIN set, those exact
 * secrets become the project's keys of that role (keys of the role that start-up made earlier — generated,
 * or set from the environment — are revoked; keys made through the API or CLI are not); otherwise
 * a key is generated the first time and its secret returned (once — only its hash is stored).
 */
export async function bootstrapDefaultProject(
  store: EventStore,
  config: Pick<Config, 'writeKey' | 'readKey' | 'adminKey'>,
  now: Date = new Date(),
  /** Records what start-up did (keys created or revoked, the project created), as the CLI's actions are. */
  audit?: (entry: Omit<NewAuditEntry, 'projectId' | 'actor'>) => Promise<unknown>,
): Promise<BootstrapResult> {
  const record = async (entry: Omit<NewAuditEntry, 'projectId' | 'actor'>) => {
    await audit?.({ ...entry, details: { ...entry.details, by: 'server start-up' } })
  }
  let project = await store.getProject(DEFAULT_PROJECT_ID)
  const projectCreated = project === undefined
  if (!project) {
    project = {
      id: DEFAULT_PROJECT_ID,
      name: 'Default',
      createdAt: now.toISOString(),
      settings: { ...DEFAULT_PROJECT_SETTINGS },
    }
    try {
      await store.createProject(project)
      await record({ action: 'project.created', target: DEFAULT_PROJECT_ID, details: { name: 'Default' } })
    } catch (e) {
      // Another node starting on the same database created it first: use theirs.
      const theirs =
        e instanceof AppError && e.code === 'conflict'
          ? await store.getProject(DEFAULT_PROJECT_ID)
          : undefined
      if (!theirs) throw e
      project = theirs
    }
  }
  const existing = await store.listApiKeys(DEFAULT_PROJECT_ID)
  const configured: Record<ApiKeyRole, string | undefined> = {
    write: config.writeKey,
    read: config.readKey,
    admin: config.adminKey,
  }
  // Every configured key is checked before anything is written: a start refused for its second key had
  // already stored the first and revoked the key it replaced — cutting off the nodes still running.
  const found = new Map<ApiKeyRole, Awaited<ReturnType<EventStore['findApiKeyByHash']>>>()
  for (const role of API_KEY_ROLES) {
    const secret = configured[role]
    if (secret === undefined) continue
    const hash = hashApiKey(secret)
    const key = await store.findApiKeyByHash(hash)
    if (key && (key.projectId !== DEFAULT_PROJECT_ID || key.role !== role)) {
      throw new AppError(
        'config_invalid',
        `${ENV_KEY_NAME(role)} is already a key of another project or role`,
      )
    }
    if (!key && existing.some((k) => k.hash === hash && k.revokedAt !== null)) throw revokedKeyError(role)
    found.set(role, key)
  }
  const keys: BootstrapKey[] = []
  for (const role of API_KEY_ROLES) {
    const active = existing.filter((k) => k.role === role && k.revokedAt === null)
    const secret = configured[role]
    if (secret !== undefined) {
      const hash = hashApiKey(secret)
      if (!found.get(role)) {
        try {
          const { record: saved } = createApiKeyRecord(DEFAULT_PROJECT_ID, role, {
            secret,
            name: ENV_KEY_NAME(role),
            now,
          })
          await store.saveApiKey(saved)
          await record({
            action: 'key.created',
            target: saved.id,
            details: { role, name: saved.name, prefix: saved.prefix },
          })
        } catch (e) {
          if (!(e instanceof AppError && e.code === 'conflict')) throw e
          // Either another node starting with the same variable stored this key a moment ago (it is active
          // now: nothing to do), or the secret belongs to a revoked key, which cannot come back.
          if (!(await store.findApiKeyByHash(hash))) throw revokedKeyError(role, e)
        }
      }
      for (const old of active) {
        if (old.hash !== hash && (old.name === GENERATED_KEY_NAME(role) || old.name === ENV_KEY_NAME(role))) {
          await store.revokeApiKey(DEFAULT_PROJECT_ID, old.id)
          await record({
            action: 'key.revoked',
            target: old.id,
            details: {
              role,
              name: old.name,
              prefix: old.prefix,
              reason: `replaced by ${ENV_KEY_NAME(role)}`,
            },
          })
        }
      }
      keys.push({ role, secret, prefix: secret.slice(0, 10), source: 'environment' })
    } else if (active.length > 0) {
      keys.push({ role, prefix: active[0].prefix, source: 'existing' })
    } else {
      // The id names the role and how many keys start-up generated for it before, so servers starting
      // together on an empty database agree on it: one stores its key, the others find theirs refused and
      // report that key. With random ids each stored and printed a key of its own (a trial: 8 keys, three
      // admin secrets in three logs).
      const generation = existing.filter((k) => k.role === role && k.name === GENERATED_KEY_NAME(role)).length
      const created = createApiKeyRecord(DEFAULT_PROJECT_ID, role, {
        name: GENERATED_KEY_NAME(role),
        now,
        id: `${DEFAULT_PROJECT_ID}-${role}-${generation + 1}`,
      })
      try {
        await store.saveApiKey(created.record)
      } catch (e) {
        if (!(e instanceof AppError && e.code === 'conflict')) throw e
        const theirs = (await store.listApiKeys(DEFAULT_PROJECT_ID)).find((k) => k.id === created.record.id)
        if (!theirs) throw e
        keys.push({ role, prefix: theirs.prefix, source: 'existing' })
        continue
      }
      await record({
        action: 'key.created',
        target: created.record.id,
        details: { role, name: created.record.name, prefix: created.record.prefix },
      })
      keys.push({ role, secret: created.secret, prefix: created.record.prefix, source: 'generated' })
    }
  }
  return { project, projectCreated, keys }
}

function revokedKeyError(role: ApiKeyRole, cause?: unknown): AppError {
  const variable = ENV_KEY_NAME(role)
  return new AppError(
    'config_invalid',
    `${variable} is a key that was revoked and cannot be used again; choose a new secret for ${variable}`,
    { details: { variable, reason: 'key_revoked' }, cause },
  )
}
