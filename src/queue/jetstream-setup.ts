import {
  AckPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { AppError } from '../errors/app-error.js'
import { type QueueSettings, queueSubjects } from './queue-settings.js'

const NANOS_PER_MS = 1_000_000

/**
 * Connects to the NATS cluster; reconnects forever (a lost server is expected: the client moves to another
 * one). Throws AppError('store_unavailable') when no listed server answers at start.
 */
export async function connectQueue(
  settings: Pick<QueueSettings, 'servers'>,
  name: string,
): Promise<NatsConnection> {
  try {
    return await connect({
      servers: settings.servers,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5_000,
    })
  } catch (err) {
    throw new AppError('store_unavailable', `Cannot connect to the queue at ${settings.servers.join(',')}`, {
      cause: err,
      retryAfterSeconds: 5,
    })
  }
}

/**
 * Creates the stream if it does not exist (an existing one is left as it is, so operators may tune it):
 * file storage, `workqueue` retention (a message is deleted once a worker acked it, so the limits bound the
 * backlog of unwritten events, not the history), `discard: new` so a full backlog rejects publishes —
 * which ingest answers with 503 — instead of silently dropping the oldest unwritten events.
 */
export async function ensureStream(jsm: JetStreamManager, settings: QueueSettings): Promise<void> {
  const subjects = queueSubjects(settings)
  try {
    await jsm.streams.info(settings.stream)
    return
  } catch (err) {
    if ((err as { code?: number }).code !== 10059 && !/not found/i.test((err as Error).message)) throw err
  }
  try {
    await jsm.streams.add({
      name: settings.stream,
      subjects: [subjects.events, subjects.failed],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.New,
      num_replicas: settings.replicas,
      max_msgs: settings.maxMessages,
      max_bytes: settings.maxBytes,
      max_age: settings.maxAgeMs * NANOS_PER_MS,
      duplicate_window: settings.duplicateWindowMs * NANOS_PER_MS,
    })
  } catch (err) {
    // Another node created it at the same moment.
    if (/already in use|already exists/i.test((err as Error).message)) return
    // Another stream on this NATS takes these subjects: a second deployment — a configuration conflict,
    // not an outage (retrying cannot help).
    if (/subjects overlap/i.test((err as Error).message)) {
      throw new AppError(
        'config_invalid',
        `Invalid configuration: stream ${settings.stream} cannot be created: its subjects ${subjects.events}, ${subjects.failed} are taken by another stream on this NATS server. Give each deployment its own TALLY_QUEUE_STREAM (its subjects derive from the name) or a subject prefix of its own`,
        { cause: err },
      )
    }
    throw err
  }
}

/**
 * The subject prefix the stream actually uses: an existing stream's subjects `<p>.events` and `<p>.failed`
 * win over the configured prefix (a deployment whose stream was created with other subjects — e.g. `tally`
 * before subjects were derived from the stream name — keeps publishing where its stream listens).
 */
export async function streamSubjectPrefix(jsm: JetStreamManager, settings: QueueSettings): Promise<string> {
  const info = await jsm.streams.info(settings.stream)
  const subjects = info.config.subjects ?? []
  const events = subjects.find((x) => x.endsWith('.events'))
  if (events === undefined) return settings.subjectPrefix
  const prefix = events.slice(0, -'.events'.length)
  return subjects.includes(`${prefix}.failed`) ? prefix : settings.subjectPrefix
}

/**
 * Creates the durable pull consumer the workers share, if missing: explicit acks, `ack_wait` after which an
 * unacknowledged batch is redelivered, unlimited deliveries (every message is an acknowledged event; giving
 * up on one would lose it — undecodable messages are terminated by the worker instead), and no limit on a
 * fetch's batch size (workers with different --batch-size share it).
 */
export async function ensureConsumer(jsm: JetStreamManager, settings: QueueSettings): Promise<void> {
  try {
    await jsm.consumers.info(settings.stream, settings.consumer)
    return
  } catch (err) {
    if ((err as { code?: number }).code !== 10014 && !/not found/i.test((err as Error).message)) throw err
  }
  try {
    await jsm.consumers.add(settings.stream, {
      durable_name: settings.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: settings.ackWaitMs * NANOS_PER_MS,
      max_deliver: -1,
      max_ack_pending: Math.max(20_000, settings.batchSize * 16),
      // No max_batch: the consumer is shared, and a limit set to the first worker's --batch-size made every
      // worker with a larger one fail each fetch. Workers fetch at most an existing consumer's max_batch.
    })
  } catch (err) {
    if (!/already in use|already exists/i.test((err as Error).message)) throw err
  }
}

/** What the shared consumer has yet to hand out (`pending`) and has handed out unacknowledged. */
export interface ConsumerBacklog {
  pending: number
  unacknowledged: number
}

/**
 * The consumer's backlog as its leader reports it (a JetStream API request is answered by the leader):
 * the lag a dashboard should watch. The monitoring endpoint of a non-leader server of a 2.9 cluster was seen
 * reporting 115k pending with a true backlog of 5k (docs/scale-out.md).
 */
export async function consumerBacklog(
  jsm: JetStreamManager,
  settings: QueueSettings,
): Promise<ConsumerBacklog> {
  const info = await jsm.consumers.info(settings.stream, settings.consumer)
  return { pending: info.num_pending, unacknowledged: info.num_ack_pending }
}

/** Retries `work` while the cluster has no JetStream leader yet (first seconds after start, elections). */
export async function withJetStreamRetry<T>(work: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await work()
    } catch (err) {
      // An API error is an answer (bad config, no room) — except "temporarily unavailable" during elections
      // and "no suitable peers for placement" (10005) while a starting cluster's servers still join: CI saw
      // a replicated stream refused in a 3-node cluster's first seconds.
      const permanent =
        err instanceof AppError ||
        (err instanceof JetStreamApiError && err.status !== 503 && err.code !== 10008 && err.code !== 10005)
      if (permanent || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

/**
 * What an operator should hear about the existing stream: fewer replicas than this node asks for. An
 * existing stream is used as it is — one first created by a node that listed a single server keeps one
 * replica, and every acknowledged event then lives on one server whatever later nodes are told.
 */
export async function streamNotices(jsm: JetStreamManager, settings: QueueSettings): Promise<string[]> {
  const info = await jsm.streams.info(settings.stream)
  const replicas = info.config.num_replicas ?? 1
  if (replicas >= settings.replicas) return []
  return [
    `stream ${settings.stream} keeps ${replicas} replica${replicas === 1 ? '' : 's'} while this node asks for ${settings.replicas} (TALLY_QUEUE_REPLICAS): an existing stream is used as it is; raise it with "nats stream edit ${settings.stream} --replicas ${settings.replicas}" (docs/scale-out.md)`,
  ]
}

/**
 * Connection + manager + stream in one step, for ingest nodes and workers. The returned `settings` carry the
 * subject prefix the stream really uses (`streamSubjectPrefix`); publish and consume with those. `notices`:
 * what to log at start (`streamNotices`).
 */
export async function openQueue(settings: QueueSettings, name: string) {
  const nc = await connectQueue(settings, name)
  try {
    const jsm = await withJetStreamRetry(() => jetstreamManager(nc))
    await withJetStreamRetry(() => ensureStream(jsm, settings))
    const subjectPrefix = await withJetStreamRetry(() => streamSubjectPrefix(jsm, settings))
    const notices = await withJetStreamRetry(() => streamNotices(jsm, settings))
    return { nc, jsm, settings: { ...settings, subjectPrefix }, notices }
  } catch (err) {
    await nc.close().catch(() => {})
    if (err instanceof AppError && err.code === 'config_invalid') throw err
    throw new AppError('store_unavailable', `JetStream is not available at ${settings.servers.join(',')}`, {
      cause: err,
      retryAfterSeconds: 5,
    })
  }
}
