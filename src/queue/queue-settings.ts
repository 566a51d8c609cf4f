import { AppError } from '../errors/app-error.js'

/**
 * How the JetStream stream and its writer consumer are set up. Every ingest node and worker of one
 * deployment must use the same `stream`, `subjectPrefix` and `consumer`; see docs/scale-out.md for why each
 * default is what it is.
 *
 * @example
 * const settings = resolveQueueSettings({ servers: parseQueueUrl('nats://h1:4222,h2:4222'), stream: 'TALLY' })
 */
export interface QueueSettings {
  /** NATS servers, `nats://host:port` each (any subset of the cluster; the client learns the rest). */
  servers: string[]
  /** Stream name. Default `TALLY_EVENTS`. */
  stream: string
  /**
   * Accepted events go to `<prefix>.events`, failed ones to `<prefix>.failed`. Default derived from the
   * stream name (`defaultSubjectPrefix`): `tally` for `TALLY_EVENTS`, `tally.<stream>` for any other, so a
   * second deployment on the same NATS needs only its own `TALLY_QUEUE_STREAM`. An existing stream's own
   * subjects win (`openQueue`).
   */
  subjectPrefix: string
  /** Durable pull consumer shared by all workers. Default `tally-writers`. */
  consumer: string
  /** Stream replicas: 3 with three or more servers listed, else 1, unless set. */
  replicas: number
  /** Stream limits (default 10M messages, 1 GiB per replica); with `discard: new` a full stream rejects publishes, which ingest answers with 503. */
  maxMessages: number
  maxBytes: number
  /** Oldest unwritten event kept, ms. Default 7 days (workers down for a week lose events after that). */
  maxAgeMs: number
  /** Window in which a republished messageId is dropped by the stream itself, ms. Default 10 minutes. */
  duplicateWindowMs: number
  /** How long a fetched batch may stay unacknowledged before it is redelivered, ms. Default 30 s. */
  ackWaitMs: number
  /** How long ingest waits for JetStream's ack before answering 503 store_unavailable, ms. Default 5 s. */
  publishTimeoutMs: number
  /** Events per fetch and per `insertBatch` transaction in a worker. Default 1,000. */
  batchSize: number
  /** Retry-After sent with a 503 from the queue path, seconds. Default 2. */
  retryAfterSeconds: number
}

export const QUEUE_DEFAULTS = Object.freeze({
  stream: 'TALLY_EVENTS',
  consumer: 'tally-writers',
  maxMessages: 10_000_000,
  maxBytes: 1024 * 1024 * 1024,
  maxAgeMs: 7 * 24 * 3600 * 1000,
  duplicateWindowMs: 10 * 60 * 1000,
  ackWaitMs: 30_000,
  publishTimeoutMs: 5_000,
  batchSize: 1_000,
  retryAfterSeconds: 2,
})

/** Fills defaults; `servers` is required. */
export function resolveQueueSettings(given: Partial<QueueSettings> & { servers: string[] }): QueueSettings {
  const settings: QueueSettings = {
    ...QUEUE_DEFAULTS,
    subjectPrefix: defaultSubjectPrefix(given.stream ?? QUEUE_DEFAULTS.stream),
    replicas: given.servers.length >= 3 ? 3 : 1,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    servers: given.servers,
  }
  if (!/^[A-Za-z0-9_-]+$/.test(settings.stream) || !/^[A-Za-z0-9_-]+$/.test(settings.consumer)) {
    throw new AppError(
      'config_invalid',
      'Invalid configuration: queue stream and consumer names are [A-Za-z0-9_-]+',
    )
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(settings.subjectPrefix)) {
    throw new AppError(
      'config_invalid',
      'Invalid configuration: queue subject prefix must be dot-separated tokens',
    )
  }
  if (!Number.isInteger(settings.replicas) || settings.replicas < 1 || settings.replicas > 5) {
    throw new AppError('config_invalid', 'Invalid configuration: queue replicas must be 1 to 5')
  }
  return settings
}

/** The subject prefix of a stream nobody chose one for: `tally` for `TALLY_EVENTS`, else `tally.<stream>`. */
export function defaultSubjectPrefix(stream: string): string {
  return stream === QUEUE_DEFAULTS.stream ? 'tally' : `tally.${stream}`
}

/** Subjects of one deployment. */
export function queueSubjects(settings: Pick<QueueSettings, 'subjectPrefix'>) {
  return { events: `${settings.subjectPrefix}.events`, failed: `${settings.subjectPrefix}.failed` }
}

/**
 * `nats://h1:4222,h2:4222` (or `h1:4222,nats://h2`) → one `nats://host:port` per server. Throws
 * AppError('config_invalid') for anything else.
 */
export function parseQueueUrl(value: string): string[] {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (parts.length === 0)
    throw new AppError('config_invalid', 'Invalid configuration: TALLY_QUEUE_URL is empty')
  return parts.map((part) => {
    const withScheme = /^[a-z]+:\/\//i.test(part) ? part : `nats://${part}`
    let url: URL
    try {
      url = new URL(withScheme)
    } catch {
      throw new AppError(
        'config_invalid',
        `Invalid configuration: TALLY_QUEUE_URL entry "${part}" is not a URL`,
      )
    }
    if (!['nats:', 'tls:'].includes(url.protocol) || url.hostname === '' || url.pathname.length > 1) {
      throw new AppError(
        'config_invalid',
        `Invalid configuration: TALLY_QUEUE_URL entries look like nats://host:port; got "${part}"`,
      )
    }
    return `${url.protocol}//${url.username ? `${url.username}:${url.password}@` : ''}${url.host}`
  })
}

/** Queue settings from the server configuration (`queueUrl` must be set), `extra` over the defaults. */
export function queueSettingsOf(
  config: { queueUrl?: string; queueStream: string; queueReplicas: number },
  extra: Partial<Omit<QueueSettings, 'servers'>> = {},
): QueueSettings {
  if (config.queueUrl === undefined)
    throw new AppError('config_invalid', 'Invalid configuration: TALLY_QUEUE_URL is not set')
  return resolveQueueSettings({
    stream: config.queueStream,
    ...(config.queueReplicas > 0 ? { replicas: config.queueReplicas } : {}),
    ...extra,
    servers: parseQueueUrl(config.queueUrl),
  })
}
