import { compile as compileProxyTrust } from '@fastify/proxy-addr'
import { type Static, Type } from '@sinclair/typebox'
import { Ajv, type ErrorObject } from 'ajv'
import { AppError } from '../errors/app-error.js'
import { parseQueueUrl } from '../queue/queue-settings.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * The server's configuration: ONE schema, with the defaults a fresh `npm start` runs on. Each key is read
 * from the environment variable in `ENV_NAMES` (and, for a few, a command-line flag); see docs/api.md.
 */
export const ConfigSchema = Type.Object(
  {
    databaseUrl: Type.String({
      minLength: 1,
      default: 'sqlite:./data/tally.db',
      description: 'sqlite:PATH or postgres://… (TALLY_DATABASE_URL, --db).',
    }),
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Interface to listen on (TALLY_HOST).',
    }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'TCP port (TALLY_PORT, --port).',
    }),
    trustProxy: Type.String({
      default: '',
      description:
        'Proxies whose X-Forwarded-For is believed (TALLY_TRUST_PROXY): empty = none, "true" = all, a hop count, or a comma list of IPs/CIDRs.',
    }),
    bodyLimit: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * 1024,
      default: 500 * 1024,
      description: 'Largest request body in bytes, after decompression (TALLY_BODY_LIMIT).',
    }),
    maxEventsPerRequest: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 2_500,
      description:
        'Most events one ingest request may carry (TALLY_MAX_EVENTS_PER_REQUEST); more is refused as a whole, as an oversized body.',
    }),
    rateLimitMax: Type.Integer({
      minimum: 0,
      maximum: 1_000_000_000,
      default: 100_000,
      description: 'Requests per key per window; 0 turns rate limiting off (TALLY_RATE_LIMIT_MAX).',
    }),
    rateLimitWindowMs: Type.Integer({
      minimum: 1000,
      // A day: beyond it a refused client was told to come back in years (Retry-After).
      maximum: 86_400_000,
      default: 60_000,
      description: 'Rate-limit window in milliseconds (TALLY_RATE_LIMIT_WINDOW_MS).',
    }),
    corsOrigins: Type.String({
      default: '*',
      description:
        'Origins allowed to call the ingest routes from a browser: "*" or a comma list (TALLY_CORS_ORIGINS).',
    }),
    logLevel: Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { default: 'info', description: 'pino log level (TALLY_LOG_LEVEL).' },
    ),
    writeKey: Type.Optional(Type.String({ minLength: 16, maxLength: 256, description: 'TALLY_WRITE_KEY.' })),
    readKey: Type.Optional(Type.String({ minLength: 16, maxLength: 256, description: 'TALLY_READ_KEY.' })),
    adminKey: Type.Optional(Type.String({ minLength: 16, maxLength: 256, description: 'TALLY_ADMIN_KEY.' })),
    migrateOnStart: Type.Boolean({
      default: true,
      description: 'Run migrations at start (TALLY_MIGRATE_ON_START).',
    }),
    docs: Type.Boolean({ default: true, description: 'Serve /openapi.json and /docs (TALLY_DOCS).' }),
    sqliteSynchronous: Type.Unsafe<'full' | 'normal'>({
      type: 'string',
      enum: ['full', 'normal'],
      default: 'full',
      description:
        'SQLite commit durability (TALLY_SQLITE_SYNCHRONOUS): "full" survives a power loss; "normal" skips the fsync per commit and survives a process crash only (docs/storage.md).',
    }),
    sqliteWriteWorker: Type.Boolean({
      default: true,
      description:
        'SQLite files: write group commits in a worker thread with its own connection, so the commit (fsync) never blocks request handling (TALLY_SQLITE_WRITE_WORKER; docs/storage.md).',
    }),
    requestTimeoutMs: Type.Integer({
      minimum: 1000,
      maximum: 600_000,
      default: 30_000,
      description:
        'Longest time a request (headers and body) may take to arrive; idle sockets close after twice this (TALLY_REQUEST_TIMEOUT_MS).',
    }),
    queueUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Scale-out: NATS servers, nats://h1:4222,h2:4222 (TALLY_QUEUE_URL, --queue). Set: ingest publishes to JetStream instead of writing the database (docs/scale-out.md).',
      }),
    ),
    queueStream: Type.String({
      pattern: '^[A-Za-z0-9_-]+$',
      default: 'TALLY_EVENTS',
      description: 'JetStream stream name (TALLY_QUEUE_STREAM).',
    }),
    queueReplicas: Type.Integer({
      minimum: 0,
      maximum: 5,
      default: 0,
      description:
        'Stream replicas when the stream is created; 0 = 3 with three or more servers, else 1 (TALLY_QUEUE_REPLICAS).',
    }),
    ingestOnly: Type.Boolean({
      default: false,
      description: 'Serve only ingest, health and metrics routes (TALLY_INGEST_ONLY, --ingest-only).',
    }),
    ingestQueueMax: Type.Integer({
      minimum: 100,
      maximum: 10_000_000,
      default: 50_000,
      description:
        'Events waiting for a database commit before ingest answers 503 overloaded with Retry-After: bounds memory under overload (TALLY_INGEST_QUEUE_MAX).',
    }),
    ingestQueueMaxBytes: Type.Integer({
      minimum: 1_048_576,
      maximum: 17_179_869_184,
      default: 67_108_864,
      description:
        'Bytes of request bodies (decoded) whose events wait for a database commit before ingest answers 503 overloaded: bounds memory when a slow database holds many large requests (TALLY_INGEST_QUEUE_MAX_BYTES).',
    }),
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 64,
      description:
        'API requests handled at once, counted from the end of their body; beyond it new ones get 503 overloaded + Retry-After. Ingest requests stop counting once their events wait for their commit, which TALLY_INGEST_QUEUE_MAX bounds (TALLY_MAX_IN_FLIGHT).',
    }),
    maxEventLoopDelayMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 1000,
      description:
        'Event-loop delay (p99 over 0.5 s, ms) above which API requests get 503 overloaded + Retry-After; 0 = off (TALLY_MAX_EVENT_LOOP_DELAY_MS).',
    }),
    shutdownTimeoutMs: Type.Integer({
      // 0 was accepted and cut every shutdown short (exit 1) before anything was drained.
      minimum: 100,
      // An hour. Past 2^31 − 1 ms Node's timers fire at once: 99999999999 cut every shutdown short.
      maximum: 3_600_000,
      default: 10_000,
      description: 'How long a graceful shutdown may take before exiting anyway (TALLY_SHUTDOWN_TIMEOUT_MS).',
    }),
  },
  { additionalProperties: false },
)
export type Config = Readonly<Static<typeof ConfigSchema>>
type ConfigKey = keyof Static<typeof ConfigSchema>

/** The environment variable behind each key. */
export const ENV_NAMES: Readonly<Record<ConfigKey, string>> = Object.freeze({
  databaseUrl: 'TALLY_DATABASE_URL',
  host: 'TALLY_HOST',
  port: 'TALLY_PORT',
  trustProxy: 'TALLY_TRUST_PROXY',
  bodyLimit: 'TALLY_BODY_LIMIT',
  maxEventsPerRequest: 'TALLY_MAX_EVENTS_PER_REQUEST',
  rateLimitMax: 'TALLY_RATE_LIMIT_MAX',
  rateLimitWindowMs: 'TALLY_RATE_LIMIT_WINDOW_MS',
  corsOrigins: 'TALLY_CORS_ORIGINS',
  logLevel: 'TALLY_LOG_LEVEL',
  writeKey: 'TALLY_WRITE_KEY',
  readKey: 'TALLY_READ_KEY',
  adminKey: 'TALLY_ADMIN_KEY',
  migrateOnStart: 'TALLY_MIGRATE_ON_START',
  docs: 'TALLY_DOCS',
  shutdownTimeoutMs: 'TALLY_SHUTDOWN_TIMEOUT_MS',
  queueUrl: 'TALLY_QUEUE_URL',
  queueStream: 'TALLY_QUEUE_STREAM',
  queueReplicas: 'TALLY_QUEUE_REPLICAS',
  ingestOnly: 'TALLY_INGEST_ONLY',
  requestTimeoutMs: 'TALLY_REQUEST_TIMEOUT_MS',
  ingestQueueMax: 'TALLY_INGEST_QUEUE_MAX',
  ingestQueueMaxBytes: 'TALLY_INGEST_QUEUE_MAX_BYTES',
  maxInFlight: 'TALLY_MAX_IN_FLIGHT',
  maxEventLoopDelayMs: 'TALLY_MAX_EVENT_LOOP_DELAY_MS',
  sqliteSynchronous: 'TALLY_SQLITE_SYNCHRONOUS',
  sqliteWriteWorker: 'TALLY_SQLITE_WRITE_WORKER',
})

/** Command-line flags (already parsed by the CLI); they win over the environment. */
export interface ConfigFlags {
  db?: string
  host?: string
  port?: string | number
  logLevel?: string
  queue?: string
  ingestOnly?: boolean
}

const FLAG_KEYS: Readonly<Record<keyof ConfigFlags, ConfigKey>> = {
  db: 'databaseUrl',
  host: 'host',
  port: 'port',
  logLevel: 'logLevel',
  queue: 'queueUrl',
  ingestOnly: 'ingestOnly',
}
/** The command-line flag of each key that has one. */
export const FLAG_NAMES: Readonly<Partial<Record<ConfigKey, string>>> = {
  databaseUrl: '--db',
  host: '--host',
  port: '--port',
  logLevel: '--log-level',
  queueUrl: '--queue',
  ingestOnly: '--ingest-only',
}

const ajv = new Ajv({ useDefaults: true, coerceTypes: true, allErrors: true, strict: false })
const validateConfig = ajv.compile(ConfigSchema)

/**
 * Builds the configuration from `env` and `flags` (flags win), fills defaults, coerces strings to numbers
 * and booleans, and returns a deep-frozen object. Pure: reads nothing but its arguments.
 * Throws AppError('config_invalid') naming every bad variable.
 *
 * @example
 * const config = loadConfig({ TALLY_PORT: '3000' }, { db: 'sqlite::memory:' })
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  flags: ConfigFlags = {},
): Config {
  const raw: Record<string, unknown> = {}
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name]
    // An empty variable means "not set", as shells make it easy to export one by accident.
    if (value !== undefined && value !== '') raw[key] = value.trim()
  }
  const problems: string[] = []
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    const value = flags[flag as keyof ConfigFlags]
    // A flag given empty is a mistake, not "unset": `--port=$PORT` with PORT unset started on 8080.
    if (typeof value === 'string' && value.trim() === '')
      problems.push(`${FLAG_NAMES[key as ConfigKey]} is empty`)
    else if (value !== undefined) raw[key] = typeof value === 'string' ? value.trim() : value
  }
  for (const [key, value] of Object.entries(raw)) {
    // Ajv's coercion reads "0x4E2A" as 20010 and "1e3" as 1000: integers here are written in decimal.
    const type = (ConfigSchema.properties as Record<string, { type?: string }>)[key]?.type
    if (
      type === 'integer' &&
      typeof value === 'string' &&
      !/^-?\d+$/.test(value) &&
      value.trim() !== '' &&
      Number.isFinite(Number(value))
    ) {
      const source = FLAG_NAMES[key as ConfigKey]
        ? `${ENV_NAMES[key as ConfigKey]} (${FLAG_NAMES[key as ConfigKey]})`
        : ENV_NAMES[key as ConfigKey]
      problems.push(`${source} must be a whole number written in decimal; got ${JSON.stringify(value)}`)
    }
  }
  const given = { ...raw } // Ajv coerces in place; messages quote what the user wrote
  if (!validateConfig(raw)) {
    const errors = (validateConfig.errors ?? []).filter((e) => e.keyword !== 'const')
    problems.push(...errors.map((e) => describeError(e, given)))
  }
  if (problems.length > 0) {
    const unique = [...new Set(problems)]
    throw new AppError('config_invalid', `Invalid configuration: ${unique.join('; ')}`, { details: unique })
  }

  const config = raw as unknown as Static<typeof ConfigSchema>
  parseTrustProxy(config.trustProxy) // fail at start, not on the first request
  parseCorsOrigins(config.corsOrigins)
  if (config.queueUrl !== undefined) parseQueueUrl(config.queueUrl)
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(config.databaseUrl)) {
    throw new AppError(
      'config_invalid',
      `Invalid configuration: TALLY_DATABASE_URL (--db) must start with sqlite:, postgres:// or postgresql://; got "${config.databaseUrl}"`,
    )
  }
  return deepFreeze(config)
}

function describeError(e: ErrorObject, raw: Record<string, unknown>): string {
  const key = (e.instancePath.slice(1) ||
    (e.params as { additionalProperty?: string }).additionalProperty) as ConfigKey
  const source = FLAG_NAMES[key] ? `${ENV_NAMES[key]} (${FLAG_NAMES[key]})` : (ENV_NAMES[key] ?? key)
  // Ajv says only "must be equal to one of the allowed values": name them.
  const allowed =
    e.keyword === 'anyOf'
      ? `must be one of ${LOG_LEVELS.join(', ')}`
      : e.keyword === 'enum'
        ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
        : e.message
  // A key's value is a secret even when it is wrong (one character off, or the wrong secret pasted).
  const got = /Key$/.test(key)
    ? `a value of ${String(raw[key] ?? '').length} characters`
    : JSON.stringify(raw[key])
  return `${source} ${allowed}; got ${got}`
}

/** proxy-addr's trust function: is the address `hop` steps back from the socket (0 = the peer) a proxy? */
export type TrustProxyFunction = (address: string, hop: number) => boolean

/**
 * Fastify's `trustProxy` option from the TALLY_TRUST_PROXY string. A hop count becomes a trust function:
 * Fastify 5 takes a plain number as "trust nothing" (it cannot check the peer), so `2` would silently
 * ignore X-Forwarded-For; the function trusts the socket peer and the next n-1 addresses, as documented.
 */
export function parseTrustProxy(value: string): boolean | TrustProxyFunction | string[] {
  const v = value.trim()
  if (v === '' || v === 'false') return false
  if (v === 'true') return true
  if (/^\d+$/.test(v)) {
    const hops = Number(v)
    if (hops === 0) return false
    return function trustHops(_address: string, hop: number) {
      return hop < hops
    }
  }
  const list = v.split(',').map((s) => s.trim())
  for (const item of list) {
    // Compiled by the same proxy-addr Fastify uses, so whatever passes here cannot fail at start
    // ("invalid range on address" for 1.2.3.4/99 once came out as a stack trace).
    try {
      compileProxyTrust([item])
    } catch (e) {
      throw new AppError(
        'config_invalid',
        `Invalid configuration: TALLY_TRUST_PROXY must be empty, true, a hop count or a comma list of IPs, CIDRs (address/prefix or address/netmask) or loopback, linklocal, uniquelocal; got "${item}" (${(e as Error).message})`,
      )
    }
  }
  return list
}

/** The CORS `origin` option from TALLY_CORS_ORIGINS. */
export function parseCorsOrigins(value: string): true | string[] {
  const v = value.trim()
  if (v === '*' || v === '') return true
  const list = v.split(',').map((s) => s.trim())
  for (const origin of list) {
    if (!/^https?:\/\/[^\s/]+$/.test(origin)) {
      throw new AppError(
        'config_invalid',
        `Invalid configuration: TALLY_CORS_ORIGINS entries must look like https://host[:port]; got "${origin}"`,
      )
    }
  }
  return list.map(normaliseOrigin)
}

/**
 * An origin as browsers send it: scheme and host lower-cased, the scheme's default port dropped
 * (`https://Shop.Example:443` → `https://shop.example`), so a list written by hand matches. Anything that
 * is not a URL (`null`) is returned as it is.
 */
export function normaliseOrigin(origin: string): string {
  try {
    const url = new URL(origin)
    return `${url.protocol}//${url.host}`
  } catch {
    return origin
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
