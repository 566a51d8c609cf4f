import type { StatsService } from '../http/server-services.js'
import { getApiRequests } from '../stats/get-api-requests.js'
import { getInteractions } from '../stats/get-interactions.js'
import { getOverview } from '../stats/get-overview.js'
import { getPerformance } from '../stats/get-performance.js'
import { getTimeseries } from '../stats/get-timeseries.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'
import { toStoreError } from '../store/store-errors.js'

/**
 * The statistics functions of src/stats, bound to the store's database. They query it directly (not
 * through the store's methods), so their database errors are mapped here as the store maps its own: a
 * connection lost or a database locked is `503 store_unavailable` with Retry-After, not a 500.
 */
export function createStatsService(store: KyselyEventStore): StatsService {
  const db = store.db
  const dialect = store.storeDialect
  const guard =
    <P, R>(run: (projectId: string, params: P) => Promise<R>) =>
    async (projectId: string, params: P): Promise<R> => {
      try {
        return await run(projectId, params)
      } catch (err) {
        throw toStoreError(err) // AppErrors (a refused range, say) pass through unchanged
      }
    }
  return {
    getOverview: guard((projectId, params) => getOverview(db, dialect, projectId, params)),
    getTimeseries: guard((projectId, params) => getTimeseries(db, dialect, projectId, params)),
    getPerformance: guard((projectId, params) => getPerformance(db, dialect, projectId, params)),
    getApiRequests: guard((projectId, params) => getApiRequests(db, dialect, projectId, params)),
    getInteractions: guard((projectId, params) => getInteractions(db, dialect, projectId, params)),
  }
}
