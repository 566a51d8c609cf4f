import type { Kysely, Selectable } from 'kysely'
import { AppError } from '../errors/app-error.js'
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

  async saveSchema(s: StoredSchema): Promise<void> {
    const inserted = await this.#db
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
    if (!inserted) throw new AppError('schema_version_exists', undefined, { details: { version: s.version } })
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
      const row = await trx.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirst()
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
