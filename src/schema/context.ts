import { type Static, Type } from '@sinclair/typebox'
import { PlainString } from './primitives.js'

/**
 * `context`: facts about where an event came from. Known keys are typed; unknown keys are kept as sent
 * (Segment SDKs add their own), bounded only by the size and depth limits.
 *
 * @example
 * { "userAgent": "Mozilla/5.0 …", "locale": "en-GB", "page": { "url": "https://shop.example/cart?utm_source=mail" } }
 */
export const EventContextSchema = Type.Object(
  {
    /** Raw `User-Agent` string. Parsed by the enricher into `userAgentData`. */
    userAgent: Type.Optional(Type.String({ maxLength: 2048, description: 'Raw User-Agent string.' })),
    /** Client IP as the client saw it. Anonymised before storage unless the project opts in to raw IPs. */
    ip: Type.Optional(Type.String({ maxLength: 64, description: 'Client IP address.' })),
    locale: Type.Optional(PlainString(64, 'BCP-47 locale, e.g. en-GB.')),
    timezone: Type.Optional(PlainString(64, 'IANA time zone, e.g. Europe/Berlin.')),
    page: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(Type.String({ maxLength: 8192, description: 'Full page URL.' })),
          path: Type.Optional(Type.String({ maxLength: 4096, description: 'URL path.' })),
          referrer: Type.Optional(Type.String({ maxLength: 8192, description: 'document.referrer.' })),
          title: Type.Optional(Type.String({ maxLength: 2048, description: 'Document title.' })),
          search: Type.Optional(Type.String({ maxLength: 8192, description: 'Query string including "?".' })),
        },
        { description: 'The page the event happened on.' },
      ),
    ),
    screen: Type.Optional(
      Type.Object(
        {
          width: Type.Optional(Type.Number({ minimum: 0, description: 'Screen width in CSS pixels.' })),
          height: Type.Optional(Type.Number({ minimum: 0, description: 'Screen height in CSS pixels.' })),
          density: Type.Optional(Type.Number({ minimum: 0, description: 'Device pixel ratio.' })),
        },
        { description: 'Screen dimensions.' },
      ),
    ),
    app: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 256 })),
          version: Type.Optional(Type.String({ maxLength: 64 })),
          build: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number()])),
        },
        { description: 'The sending application.' },
      ),
    ),
    library: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 256 })),
          version: Type.Optional(Type.String({ maxLength: 64 })),
        },
        { description: 'The SDK that sent the event.' },
      ),
    ),
    campaign: Type.Optional(
      Type.Object(
        {
          source: Type.Optional(Type.String({ maxLength: 1024 })),
          medium: Type.Optional(Type.String({ maxLength: 1024 })),
          name: Type.Optional(Type.String({ maxLength: 1024 })),
          term: Type.Optional(Type.String({ maxLength: 1024 })),
          content: Type.Optional(Type.String({ maxLength: 1024 })),
        },
        { description: 'UTM campaign. Filled from the page URL when absent; explicit fields win.' },
      ),
    ),
    device: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Device facts.' })),
    os: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Operating system facts.' })),
    /**
     * Pins the tracking-plan schema version this event is validated against, e.g. `{ "version": "1-0-2" }`.
     * Without it the latest registered version applies.
     */
    schema: Type.Optional(
      Type.Object(
        {
          version: Type.String({
            maxLength: 32,
            description: 'SchemaVer MODEL-REVISION-ADDITION, e.g. 1-0-2.',
          }),
        },
        { additionalProperties: false, description: 'Pins a tracking-plan schema version.' },
      ),
    ),
  },
  { additionalProperties: true, description: 'Where the event came from. Unknown keys are kept.' },
)
export type EventContext = Static<typeof EventContextSchema>
