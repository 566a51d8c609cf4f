import type { ErrorCode } from '../../errors/codes.js'
import type { SqliteSynchronous } from './sqlite-dialect-config.js'

/** What the write worker is started with (`workerData`). */
export interface WriteWorkerData {
  /** The `sqlite:` URL of the file the main thread opened. */
  url: string
  busyTimeoutMs?: number
  synchronous?: SqliteSynchronous
  /** Maintain the rollups in each group commit (the default writer). */
  rollups: boolean
  /** Deferred rollups: how long after a commit the worker catches up. Default 1,000 ms. */
  rollupDelayMs?: number
}

/**
 * Main → worker. Events and failed events travel as JSON strings: one `JSON.stringify` on the main thread
 * and a string copy are cheaper than structured-cloning thousands of nested objects.
 */
export type WorkerRequest = { type: 'insert'; id: number; events: string; failed: string } | { type: 'close' }

/** Worker → main. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'closed' }
  | { type: 'fatal'; message: string }
  /** `statuses[i]` is `a` (accepted) or `d` (duplicate); `ids[i]` the stored id when it is not event i's own. */
  | { type: 'result'; id: number; statuses: string; ids: (string | null)[] }
  | {
      type: 'error'
      id: number
      code: ErrorCode
      message: string
      retryAfterSeconds?: number
      cause: string
    }
