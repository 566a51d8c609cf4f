import { isUtf8 } from 'node:buffer'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../../errors/app-error.js'

const gunzip = promisify(zlib.gunzip)
const inflate = promisify(zlib.inflate)
const brotli = promisify(zlib.brotliDecompress)

/**
 * Decodes a body by its Content-Encoding, refusing (413) once the DECOMPRESSED size passes `limit`: zlib
 * stops at `maxOutputLength`, so a gzip bomb costs at most `limit` bytes of memory.
 */
export async function decodeBody(body: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const enc = (encoding ?? '').trim().toLowerCase()
  if (enc === '' || enc === 'identity') return body
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return await gunzip(body, { maxOutputLength: limit })
    if (enc === 'deflate') return await inflate(body, { maxOutputLength: limit })
    if (enc === 'br') return await brotli(body, { maxOutputLength: limit })
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new AppError(
        'payload_too_large',
        `The request body is larger than ${limit} bytes once decompressed`,
      )
    }
    throw new AppError('invalid_encoding', `The body is not valid ${enc} data`, { cause: err })
  }
  throw new AppError(
    'unsupported_media_type',
    `Content-Encoding "${enc}" is not supported; use gzip, deflate or br`,
  )
}

/** Deepest array/object nesting a body may have. Events allow 16 (DEFAULT_LIMITS.maxDepth), so an event
 * nested 17–256 deep is still rejected per event (`too_deep`); beyond this the whole body is refused. */
export const MAX_BODY_DEPTH = 256

/**
 * True when `text` nests arrays/objects deeper than `limit`. Strings are skipped with indexOf, so this costs
 * about a fifth of JSON.parse. It exists because later stages (JSON.stringify of a failed payload) recurse,
 * and a body 100,000 levels deep must be refused up front, not crash a group commit.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      let j = text.indexOf('"', i + 1)
      while (j !== -1) {
        let k = j - 1
        while (text.charCodeAt(k) === 92) k--
        if ((j - 1 - k) % 2 === 0) break // an even run of backslashes: the quote is not escaped
        j = text.indexOf('"', j + 1)
      }
      if (j === -1) return false // unterminated string: JSON.parse reports it
      i = j + 1
      continue
    }
    if (c === 123 || c === 91) {
      if (++depth > limit) return true
    } else if (c === 125 || c === 93) depth--
    i++
  }
  return false
}

/**
 * Parses a JSON body with plain `JSON.parse`. Unlike secure-json-parse this does not refuse the whole body
 * for a `__proto__` key: `JSON.parse` makes it an ordinary own property (no prototype is touched), and the
 * event validator then reports it as a per-event `forbidden_key` — one bad event never fails the batch.
 */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) throw new AppError('invalid_body', 'The request body is empty')
  let text = raw.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  if (text.trim() === '') throw new AppError('invalid_body', 'The request body is empty')
  if (nestsDeeperThan(text, MAX_BODY_DEPTH)) {
    throw new AppError(
      'invalid_body',
      `The request body nests objects or arrays deeper than ${MAX_BODY_DEPTH} levels`,
    )
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new AppError('invalid_json', `The request body is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

/** JSON is UTF-8 (RFC 8259): a `charset` parameter naming anything else is refused (415), not misread. */
export function assertUtf8Charset(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('unsupported_media_type', `charset "${charset}" is not supported; send UTF-8`)
  }
}

const bodyBytes = new WeakMap<FastifyRequest, number>()

/** The decoded size of an ingest request's body (what its events weigh while they wait), if parsed here. */
export function decodedBodyBytes(request: FastifyRequest): number | undefined {
  return bodyBytes.get(request)
}

/** The ingest body parser: charset check, Content-Encoding, size limit, UTF-8 check, JSON. */
function ingestBodyParser(limit: number) {
  return async function parseIngestBody(request: FastifyRequest, body: Buffer): Promise<unknown> {
    assertUtf8Charset(request.headers['content-type'])
    const raw = await decodeBody(body, request.headers['content-encoding'], limit)
    if (raw.length > limit)
      throw new AppError('payload_too_large', `The request body is larger than ${limit} bytes`)
    bodyBytes.set(request, raw.length)
    // Decoding would turn each invalid byte into U+FFFD and store the event altered without a word.
    if (!isUtf8(raw)) throw new AppError('invalid_encoding', 'The request body is not valid UTF-8')
    return parseJsonBody(raw)
  }
}

/**
 * Replaces the content-type parsers of `scope` (an encapsulated plugin holding the ingest routes) with
 * ones for what real clients send: `application/json` (SDKs), `text/plain` (`navigator.sendBeacon`), any
 * `+json` type, each optionally gzip/deflate/br encoded. Everything else is 415.
 */
export function useIngestBodyParser(scope: FastifyInstance, limit: number): void {
  scope.removeAllContentTypeParsers()
  const parser = ingestBodyParser(limit)
  const options = { parseAs: 'buffer' as const, bodyLimit: limit }
  scope.addContentTypeParser(['application/json', 'text/plain'], options, parser)
  // Fastify matches a RegExp against the whole header: parameters (`; charset=utf-8`) must be allowed
  // here (the parser checks the charset) — `application/vnd.x+json; charset=utf-8` was a 415.
  scope.addContentTypeParser(/^application\/[\w.+-]+\+json\s*(?:;.*)?$/i, options, parser)
}

/**
 * The Segment routes' parser: the body is read as JSON whatever the Content-Type says (or when there is
 * none), as Segment-compatible servers do. SDKs that post gzip through axios label it
 * `application/x-www-form-urlencoded` (RudderStack's Node SDK), `curl -d` does the same, and a 415 would
 * make those SDKs drop the batch. A body that is not JSON is still refused (400 invalid_json).
 */
export function acceptAnyContentTypeAsJson(scope: FastifyInstance, limit: number): void {
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, ingestBodyParser(limit))
}
