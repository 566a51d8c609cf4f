import type { Kysely, Selectable } from 'kysely'
import { AppError } from '../errors/app-error.js'
import { compareSchemaVer, parseSchemaVer, type SchemaVer } from '../tracking-plan/schema-ver.js'
import type { ApiKeysTable, Database, ProjectsTable } from './database.js'
import type { StoreDialect } from './dialect.js'
import type { ApiKeyRecord, Project, ProjectSettings, StoredSchema } from './event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from './project-types.js'

/** Projects, API keys and the tracking plan's schemas: small, rarely written tables. */
export class ProjectRepository {
  readonly #db: Kysely<Database>
  readonly #d: StoreDialect

  constructor(db: Kysely<Database>, dialect: StoreDialect) {
    this.#db = db
    this.#d = dialect
  }

  #project(r: Selectable<ProjectsTable>): Project {
    const settings = this.#d.fromDbJson(r.settings) as Partial<ProjectSettings>
    return {
      id: r.id,
      name: r.name,
      createdAt: this.#d.fromDbTime(r.created_at),
      settings: { ...DEFAULT_PROJECT_SETTINGS, ...settings },
    }
  }

  #key(r: Selectable<ApiKeysTable>): ApiKeyRecord {
    return {
      id: r.id,
      projectId: r.project_id,
      role: r.role as ApiKeyRecord['role'],
      hash: r.hash,
      prefix: r.prefix,
      name: r.name,
      createdAt: this.#d.fromDbTime(r.created_at),
      revokedAt: r.revoked_at == null ? null : this.#d.fromDbTime(r.revoked_at),
    }
  }

  /**
   * Stores a new version, checking under the project's lock that it is newer than every stored version of
   * its type and name: the callers check against the plan they read, but two registrations at once (two
   * servers) each passed that check, and `1-0-1` was stored after `1-0-2`.
   */
  saveSchema(s: StoredSchema): Promise<void> {
    const ver = parseSchemaVer(s.version)
    if (ver === null)
      return Promise.reject(new AppError('schema_version_invalid', `${s.version} is not SchemaVer`))
    return this.#db.transaction().execute(async (trx) => {
      if (this.#d.capabilities.supportsConcurrentWriters) {
        await trx.selectFrom('projects').select('id').where('id', '=', s.projectId).forUpdate().execute()
      }
      const stored = await trx
        .selectFrom('schemas')
        .select('version')
        .where('project_id', '=', s.projectId)
        .where('event_type', '=', s.eventType)
        .where('event_name', '=', s.eventName)
        .execute()
      let latest: { text: string; ver: SchemaVer } | null = null
      for (const row of stored) {
        const v = parseSchemaVer(row.version)
        if (v === null) continue
        if (compareSchemaVer(v, ver) === 0)
          throw new AppError('schema_version_exists', undefined, { details: { version: s.version } })
        if (latest === null || compareSchemaVer(v, latest.ver) > 0) latest = { text: row.version, ver: v }
      }
      if (latest !== null && compareSchemaVer(ver, latest.ver) < 0) {
        throw new AppError(
          'schema_version_not_newer',
          `${s.version} is not greater than the latest version ${latest.text}`,
          { details: { latest: latest.text } },
        )
      }
      const inserted = await trx
        .insertInto('schemas')
        .values({
          project_id: s.projectId,
          event_type: s.eventType,
          event_name: s.eventName,
          version: s.version,
          json_schema: this.#d.toDbJson(s.jsonSchema),
          created_at: this.#d.toDbTime(s.createdAt),
        })
        .onConflict((oc) => oc.columns(['project_id', 'event_type', 'event_name', 'version']).doNothing())
        .returning('version')
        .executeTakeFirst()
      if (!inserted)
        throw new AppError('schema_version_exists', undefined, { details: { version: s.version } })
    })
  }

  async listSchemas(projectId: string): Promise<StoredSchema[]> {
    const rows = await this.#db
      .selectFrom('schemas')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('event_type')
      .orderBy('event_name')
      .orderBy('created_at')
      .orderBy('version')
      .execute()
    return rows.map((r) => ({
      projectId: r.project_id,
      eventType: r.event_type,
      eventName: r.event_name,
      version: r.version,
      jsonSchema: this.#d.fromDbJson(r.json_schema) as Record<string, unknown>,
      createdAt: this.#d.fromDbTime(r.created_at),
    }))
  }

  async createProject(p: Project): Promise<void> {
    const inserted = await this.#db
      .insertInto('projects')
      .values({
        id: p.id,
        name: p.name,
        created_at: this.#d.toDbTime(p.createdAt),
        settings: this.#d.toDbJson({ ...DEFAULT_PROJECT_SETTINGS, ...p.settings }),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!inserted) throw new AppError('conflict', `Project ${p.id} already exists`)
  }

  async getProject(projectId: string): Promise<Project | undefined> {
    const row = await this.#db
      .selectFrom('projects')
      .selectAll()
      .where('id', '=', projectId)
      .executeTakeFirst()
    return row && this.#project(row)
  }

  async listProjects(): Promise<Project[]> {
    const rows = await this.#db
      .selectFrom('projects')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute()
    return rows.map((r) => this.#project(r))
  }

  updateProjectSettings(projectId: string, settings: Partial<ProjectSettings>): Promise<Project | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      // Read, merge, write under the row's lock: two servers changing different settings at once each
      // wrote back the other's old value (a trial lost 8 of 30 such pairs, privacy settings included).
      // SQLite has one writer at a time.
      let read = trx.selectFrom('projects').selectAll().where('id', '=', projectId)
      if (this.#d.capabilities.supportsConcurrentWriters) read = read.forUpdate()
      const row = await read.executeTakeFirst()
      if (!row) return undefined
      const current = this.#project(row)
      const merged = { ...current.settings, ...settings }
      await trx
        .updateTable('projects')
        .set({ settings: this.#d.toDbJson(merged) })
        .where('id', '=', projectId)
        .execute()
      return { ...current, settings: merged }
    })
  }

  saveApiKey(k: ApiKeyRecord): Promise<void> {
    return this.#db.transaction().execute(async (trx) => {
      const project = await trx
        .selectFrom('projects')
        .select('id')
        .where('id', '=', k.projectId)
        .executeTakeFirst()
      if (!project) throw new AppError('not_found', `Project ${k.projectId} does not exist`)
      const inserted = await trx
        .insertInto('api_keys')
        .values({
          id: k.id,
          project_id: k.projectId,
          role: k.role,
          hash: k.hash,
          prefix: k.prefix,
          name: k.name,
          created_at: this.#d.toDbTime(k.createdAt),
          revoked_at: k.revokedAt == null ? null : this.#d.toDbTime(k.revokedAt),
        })
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst()
      if (!inserted) throw new AppError('conflict', 'An API key with this id or secret already exists')
    })
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return row && this.#key(row)
  }

  async listApiKeys(projectId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at')
      .orderBy('id')
      .execute()
    return rows.map((r) => this.#key(r))
  }

  async revokeApiKey(projectId: string, keyId: string): Promise<boolean> {
    const r = await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: this.#d.toDbTime(Date.now()) })
      .where('project_id', '=', projectId)
      .where('id', '=', keyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(r.numUpdatedRows) > 0
  }
}
