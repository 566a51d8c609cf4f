import type { StatsService } from '../http/server-services.js'
import { getApiRequests } from '../stats/get-api-requests.js'
import { getInteractions } from '../stats/get-interactions.js'
import { getOverview } from '../stats/get-overview.js'
import { getPerformance } from '../stats/get-performance.js'
import { getTimeseries } from '../stats/get-timeseries.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'

/** The statistics functions of src/stats, bound to the store's database. */
export function createStatsService(store: KyselyEventStore): StatsService {
  const db = store.db
  const dialect = store.storeDialect
  return {
    getOverview: (projectId, params) => getOverview(db, dialect, projectId, params),
    getTimeseries: (projectId, params) => getTimeseries(db, dialect, projectId, params),
    getPerformance: (projectId, params) => getPerformance(db, dialect, projectId, params),
    getApiRequests: (projectId, params) => getApiRequests(db, dialect, projectId, params),
    getInteractions: (projectId, params) => getInteractions(db, dialect, projectId, params),
  }
}
