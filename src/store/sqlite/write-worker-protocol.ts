import type { ErrorCode } from '../../errors/codes.js'
import type { EncodedBatch } from '../event-rows.js'
import type { SqliteSynchronous } from './sqlite-dialect-config.js'

/** What the write worker is started with (`workerData`). */
export interface WriteWorkerData {
  /** The `sqlite:` URL of the file the main thread opened. */
  url: string
  busyTimeoutMs?: number
  synchronous?: SqliteSynchronous
  /** Maintain the rollups in each group commit (the default writer). */
  rollups: boolean
  /** Rollups caught up after commits (the default) or in each commit's transaction (`false`). */
  deferRollups?: boolean
  /** Deferred rollups: how long after a commit the worker catches up. Default 1,000 ms. */
  rollupDelayMs?: number
}

/**
 * Main → worker. A group commit travels encoded (`encodeBatch`): arrays of column values with the JSON
 * columns already strings. Structured-cloning those flat arrays is cheap, and each event is serialised once;
 * sending whole events as JSON cost a `JSON.stringify` here, a `JSON.parse` and the columns' own
 * `JSON.stringify` in the worker (~2.3× the worker's encoding work, bench/worker-encoding.ts).
 */
export type WorkerRequest = { type: 'insert'; id: number; batch: EncodedBatch } | { type: 'close' }

/** Worker → main. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'closed' }
  | { type: 'fatal'; message: string }
  /**
   * `statuses[i]` is `a` (accepted), `d` (duplicate) or `x` (dropped: its person erased); `ids[i]` the stored
   * id when it is not event i's own.
   */
  | { type: 'result'; id: number; statuses: string; ids: (string | null)[] }
  | {
      type: 'error'
      id: number
      code: ErrorCode
      message: string
      retryAfterSeconds?: number
      cause: string
    }
