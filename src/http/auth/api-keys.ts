import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { ApiKeyRecord, ApiKeyRole, EventStore } from '../../store/event-store.js'
import { mayServeStale } from '../../store/store-errors.js'

const ROLE_PREFIX: Readonly<Record<ApiKeyRole, string>> = { write: 'tly_w_', read: 'tly_r_', admin: 'tly_a_' }

/** What a role may do. `admin` may do everything; `write` only ingest (safe to ship in a browser). */
export const ROLE_GRANTS: Readonly<Record<ApiKeyRole, readonly ApiKeyRole[]>> = {
  write: ['write'],
  read: ['read'],
  admin: ['write', 'read', 'admin'],
}

/** The identity a request acts as, once its key is known. */
export interface AuthContext {
  projectId: string
  keyId: string
  role: ApiKeyRole
}

/** hex SHA-256 of a key secret: the only form in which a key is stored. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/** A fresh secret: role prefix + 32 random bytes in base64url, e.g. `tly_w_Xy…` (49 characters). */
export function generateApiKeySecret(role: ApiKeyRole): string {
  return ROLE_PREFIX[role] + randomBytes(32).toString('base64url')
}

/**
 * Builds the stored record for `secret` (generated when omitted). The secret is returned once and never
 * stored; only its hash and an 10-character prefix are.
 */
export function createApiKeyRecord(
  projectId: string,
  role: ApiKeyRole,
  options: { secret?: string; name?: string | null; now?: Date; id?: string } = {},
): { secret: string; record: ApiKeyRecord } {
  const secret = options.secret ?? generateApiKeySecret(role)
  return {
    secret,
    record: {
      id: options.id ?? randomUUID(),
      projectId,
      role,
      hash: hashApiKey(secret),
      prefix: secret.slice(0, 10),
      name: options.name ?? null,
      createdAt: (options.now ?? new Date()).toISOString(),
      revokedAt: null,
    },
  }
}

export interface KeyResolverOptions {
  /** How long a found key is trusted without asking the store again, ms. Default 10 s (revocation delay). */
  ttlMs?: number
  /**
   * Stale-if-error: while the store answers `store_unavailable` (database down), a key this process found
   * (and did not see revoked) within this long is still served, ms. Default 1 hour; 0 turns it off.
   * Unknown keys are never served; once the store answers again, its answer (revocation included) counts.
   */
  staleIfErrorMs?: number
  /** Most keys cached. Default 10,000. */
  maxEntries?: number
}

/** Default of `KeyResolverOptions.staleIfErrorMs`: 1 hour (docs/scale-out.md). */
export const KEY_STALE_IF_ERROR_MS = 3_600_000

/**
 * Resolves a presented secret to its key, through a small positive cache so the hot ingest path does not
 * query the database per request. Unknown secrets are not cached (a flood of random keys cannot evict).
 * When the database is unavailable, keys confirmed within `staleIfErrorMs` keep working (an ingest node in
 * the scale-out deployment keeps accepting into the stream while PostgreSQL is down).
 */
export class ApiKeyResolver {
  readonly #store: EventStore
  readonly #ttlMs: number
  readonly #staleIfErrorMs: number
  readonly #maxEntries: number
  /** `confirmed`: when the store last said this key exists and is not revoked. */
  readonly #cache = new Map<string, { auth: AuthContext; confirmed: number }>()

  constructor(store: EventStore, options: KeyResolverOptions = {}) {
    this.#store = store
    this.#ttlMs = options.ttlMs ?? 10_000
    this.#staleIfErrorMs = options.staleIfErrorMs ?? KEY_STALE_IF_ERROR_MS
    this.#maxEntries = options.maxEntries ?? 10_000
  }

  async resolve(secret: string): Promise<AuthContext | undefined> {
    if (secret.length === 0 || secret.length > 512) return undefined
    const hash = hashApiKey(secret)
    const now = Date.now()
    const cached = this.#cache.get(hash)
    if (cached && now - cached.confirmed < this.#ttlMs) return cached.auth
    let record: ApiKeyRecord | undefined
    try {
      record = await this.#store.findApiKeyByHash(hash)
    } catch (err) {
      // Stale-if-error: only a key known to be valid, only while the database is unreachable, bounded.
      if (cached && mayServeStale(err, cached.confirmed, now, this.#staleIfErrorMs)) return cached.auth
      throw err
    }
    // The lookup is by hash; compare again in constant time so a store that matched loosely (collation,
    // truncation) can never let a different secret through.
    if (!record || record.revokedAt !== null || !sameHash(record.hash, hash)) {
      this.#cache.delete(hash)
      return undefined
    }
    const auth: AuthContext = { projectId: record.projectId, keyId: record.id, role: record.role }
    this.#cache.delete(hash) // re-inserted last: eviction drops the least recently confirmed
    if (this.#cache.size >= this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value as string)
    this.#cache.set(hash, { auth, confirmed: Date.now() })
    return auth
  }

  /**
   * Whether `secret` is a key this process has confirmed (it is in the cache, at any age), without asking
   * the database: what the per-IP limit on failed authentication uses to let known keys through. Such a
   * request then authenticates as any other — through the database once the confirmation is older than
   * the TTL, so a key revoked meanwhile is refused (and leaves the cache). Only the TTL's 10 s counted
   * before: a client behind the same address as a key-guessing one was locked out for the whole window.
   */
  isConfirmed(secret: string): boolean {
    if (secret.length === 0 || secret.length > 512) return false
    return this.#cache.has(hashApiKey(secret))
  }

  /**
   * The rate limiter's bucket of a presented key, before authentication: the key id when the cache knows
   * the key (the bucket native routes use, so one key has one budget), else its hash.
   */
  bucketOf(secret: string): string {
    const hash = hashApiKey(secret)
    return this.#cache.get(hash)?.auth.keyId ?? hash
  }

  /** Forgets cached keys (after a revocation in this process). */
  clear(): void {
    this.#cache.clear()
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y)
}
