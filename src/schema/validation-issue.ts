import { type Static, Type } from '@sinclair/typebox'
import { ISSUE_CODES } from '../errors/issue-codes.js'

/**
 * One problem found in one event: where (`path`, a JSON Pointer into the event as sent), what rule
 * (`code`, stable, listed in docs/errors.md), a sentence for humans and, where it helps, what was expected.
 *
 * @example
 * { "path": "/properties/statusCode", "code": "out_of_range", "message": "must be <= 599", "expected": "<= 599" }
 */
export const ValidationIssueSchema = Type.Object(
  {
    path: Type.String({ description: 'JSON Pointer to the offending value ("" for the event itself).' }),
    code: Type.Union(
      ISSUE_CODES.map((c) => Type.Literal(c)),
      { description: 'Stable rule code; see docs/errors.md.' },
    ),
    message: Type.String({ description: 'Human-readable explanation.' }),
    expected: Type.Optional(Type.String({ description: 'What would have been accepted.' })),
    repaired: Type.Optional(
      Type.Literal(true, {
        description:
          'A note of what the Segment routes changed before validation (a field dropped, a timestamp read): not a problem of the event as stored, kept through replays.',
      }),
    ),
  },
  { $id: 'tally/ValidationIssue', additionalProperties: false },
)
export type ValidationIssue = Static<typeof ValidationIssueSchema>
