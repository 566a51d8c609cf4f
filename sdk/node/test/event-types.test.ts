import { describe, expectTypeOf, it } from 'vitest'
import type { EventCreate as ServerEventCreate } from '../../../src/schema/event-create.js'
import type { EventCreate } from '../../shared/event-types.js'

type Variant<E, T> = Extract<E, { type: T }>

/**
 * The SDKs' event types (sdk/shared/event-types.ts) against the server's (TypeBox, src/schema): checked by
 * `tsc -p tsconfig.json` (npm test), variant by variant, so a change to either side fails the type check.
 */
describe('sdk/shared event types', () => {
  it('should equal the server event types, variant by variant', () => {
    expectTypeOf<Variant<EventCreate, 'track'>>().toEqualTypeOf<Variant<ServerEventCreate, 'track'>>()
    expectTypeOf<Variant<EventCreate, 'page'>>().toEqualTypeOf<Variant<ServerEventCreate, 'page'>>()
    expectTypeOf<Variant<EventCreate, 'screen'>>().toEqualTypeOf<Variant<ServerEventCreate, 'screen'>>()
    expectTypeOf<Variant<EventCreate, 'identify'>>().toEqualTypeOf<Variant<ServerEventCreate, 'identify'>>()
    expectTypeOf<Variant<EventCreate, 'group'>>().toEqualTypeOf<Variant<ServerEventCreate, 'group'>>()
    expectTypeOf<Variant<EventCreate, 'alias'>>().toEqualTypeOf<Variant<ServerEventCreate, 'alias'>>()
    expectTypeOf<Variant<EventCreate, 'performance'>>().toEqualTypeOf<
      Variant<ServerEventCreate, 'performance'>
    >()
    expectTypeOf<Variant<EventCreate, 'interaction'>>().toEqualTypeOf<
      Variant<ServerEventCreate, 'interaction'>
    >()
    expectTypeOf<Variant<EventCreate, 'api_request'>>().toEqualTypeOf<
      Variant<ServerEventCreate, 'api_request'>
    >()
    expectTypeOf<EventCreate['type']>().toEqualTypeOf<ServerEventCreate['type']>()
  })
})
