export { type ApiRequestOptions, UNMATCHED_ROUTE } from './api-request.js'
export { tallyExpress, tallyExpressErrors } from './express.js'
export { type TallyFastifyOptions, tallyFastify } from './fastify.js'
export { SDK_VERSION, Tally, type TallyOptions } from './tally.js'
export {
  type ApiRequestEvent,
  type EventContext,
  type EventCreate,
  type EventOf,
  type HttpMethod,
  type Identifier,
  type Message,
  SDK_ERROR_CODES,
  type SdkErrorCode,
  TallySdkError,
} from './types.js'
