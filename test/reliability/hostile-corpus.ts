import { gzipSync } from 'node:zlib'

/**
 * Handcrafted hostile inputs for suite 4 (hostile-input.test.ts). Each value is something a real client,
 * a broken proxy or an attacker has sent to an analytics endpoint. The fuzzer mixes them with generated ones.
 */

/** Strings for path parameters, query values and JSON fields. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '../../../../etc/passwd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%C3%28%FF%FE', // invalid UTF-8 once percent-decoded
  '%2e%2e%2f%2e%2e%2fetc%2fshadow',
  '/etc/passwd\u0000.json',
  'C:\\Windows\\win.ini',
  "' OR 1=1 --",
  "'; DROP TABLE events; --",
  '" OR ""="',
  '1; select pg_sleep(10)',
  "properties.x') or 1=1 --",
  'properties.__proto__.polluted',
  'properties.constructor.prototype',
  'properties["a"]',
  "$.properties[?(@.x=='1')]",
  'properties.a.b.c.d.e.f.g.h.i.j',
  '__proto__',
  'constructor',
  'prototype',
  '\u0000',
  '\uFFFF\uFFFE',
  '\uD800',
  '\uDFFF\uD800',
  '😀'.repeat(100),
  'a'.repeat(70_000),
  '9'.repeat(400),
  '-1',
  '0',
  '-9007199254740993',
  '9007199254740993',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '0x10',
  '1.5',
  'null',
  'true',
  '[]',
  '{}',
  '2026-13-45T99:99:99Z',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00Z',
  'Europe/Nowhere',
  '../../zoneinfo/UTC',
  'ndjson\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  "=cmd|' /C calc'!A0",
  'eyJpZCI6IjEiLCJ0cyI6MX0', // base64 JSON: a forged cursor
  Buffer.from(JSON.stringify({ id: "x' or 1=1 --", ts: -1, fp: 'zz' })).toString('base64url'),
  Buffer.from('{"a":').toString('base64url'),
]

const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n)

/** Whole request bodies (as sent on the wire). */
export const HOSTILE_BODIES: readonly { name: string; body: Buffer; encoding?: string }[] = [
  { name: 'empty', body: Buffer.alloc(0) },
  { name: 'whitespace', body: Buffer.from('   \n\t ') },
  { name: 'bom only', body: Buffer.from([0xef, 0xbb, 0xbf]) },
  { name: 'truncated object', body: Buffer.from('{"events":[{"type":"track","name":"A"') },
  { name: 'truncated string', body: Buffer.from('{"type":"track","name":"A\\') },
  { name: 'trailing garbage', body: Buffer.from('{"type":"track","name":"A"}}}}') },
  { name: 'two documents', body: Buffer.from('{"type":"track"}\n{"type":"page"}') },
  { name: 'scalar', body: Buffer.from('42') },
  { name: 'string', body: Buffer.from('"events"') },
  { name: 'null', body: Buffer.from('null') },
  { name: 'deep arrays 100k', body: Buffer.from(deep(100_000, '[', ']')) },
  { name: 'deep objects 10k', body: Buffer.from(deep(10_000, '{"a":', '}')) },
  {
    name: 'deep in event 300',
    body: Buffer.from(`{"type":"track","name":"A","properties":${deep(300, '{"a":', '}')}}`),
  },
  {
    name: 'deep in event 20',
    body: Buffer.from(`{"type":"track","name":"A","properties":${deep(20, '{"a":', '}')}}`),
  },
  { name: 'proto key', body: Buffer.from('{"type":"track","name":"A","__proto__":{"polluted":true}}') },
  {
    name: 'nested proto',
    body: Buffer.from(
      '{"type":"track","name":"A","properties":{"constructor":{"prototype":{"polluted":1}}}}',
    ),
  },
  { name: 'proto in batch', body: Buffer.from('{"events":[],"__proto__":{"events":[1]}}') },
  {
    name: 'huge number',
    body: Buffer.from(`{"type":"track","name":"A","properties":{"n":1${'0'.repeat(5000)}}}`),
  },
  { name: 'huge exponent', body: Buffer.from('{"type":"track","name":"A","properties":{"n":1e999999}}') },
  { name: 'huge string', body: Buffer.from(`{"type":"track","name":"${'A'.repeat(400_000)}"}`) },
  {
    name: 'many keys',
    body: Buffer.from(
      `{"type":"track","name":"A","properties":{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":1`).join(',')}}}`,
    ),
  },
  {
    name: 'invalid utf8',
    body: Buffer.concat([
      Buffer.from('{"type":"track","name":"'),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
      Buffer.from('"}'),
    ]),
  },
  {
    name: 'lone surrogate escape',
    body: Buffer.from('{"type":"track","name":"\\ud800","userId":"\\udfff"}'),
  },
  { name: 'nul bytes', body: Buffer.from('{"type":"track","name":"A\\u0000B","userId":"\\u0000"}') },
  { name: 'utf16 body', body: Buffer.from('{"type":"track","name":"A","userId":"u"}', 'utf16le') },
  { name: 'random bytes', body: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)) },
  { name: 'gzip bomb', body: gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)), encoding: 'gzip' },
  { name: 'gzip bomb json', body: gzipSync(Buffer.from(`[${'{},'.repeat(5_000_000)}{}]`)), encoding: 'gzip' },
  {
    name: 'gzip truncated',
    body: gzipSync(Buffer.from('{"type":"track","name":"A"}')).subarray(0, 12),
    encoding: 'gzip',
  },
  { name: 'not gzip', body: Buffer.from('{"type":"track","name":"A"}'), encoding: 'gzip' },
  { name: 'deflate garbage', body: Buffer.from('xxxxxxxxxxxx'), encoding: 'deflate' },
  { name: 'br garbage', body: Buffer.from([0xff, 0xff, 0xff]), encoding: 'br' },
  {
    name: 'double gzip',
    body: gzipSync(gzipSync(Buffer.from('{"type":"track","name":"A"}'))),
    encoding: 'gzip',
  },
  { name: 'unknown encoding', body: Buffer.from('{}'), encoding: 'compress' },
  { name: 'stacked encodings', body: Buffer.from('{}'), encoding: 'gzip, br' },
  {
    name: 'injection in where',
    body: Buffer.from(
      JSON.stringify({ where: [{ path: "properties.x') or 1=1 --", op: 'eq', value: "' OR 1=1 --" }] }),
    ),
  },
  {
    name: 'where path proto',
    body: Buffer.from(JSON.stringify({ where: [{ path: 'properties.__proto__', op: 'exists' }] })),
  },
  { name: 'limit negative', body: Buffer.from('{"limit":-1}') },
  { name: 'limit huge', body: Buffer.from('{"limit":1e308}') },
  { name: 'limit float', body: Buffer.from('{"limit":1.5}') },
  { name: 'cursor forged', body: Buffer.from(JSON.stringify({ cursor: 'eyJpZCI6IjEiLCJ0cyI6MX0' })) },
  { name: 'schema huge ref', body: Buffer.from('{"$ref":"http://169.254.169.254/latest/meta-data"}') },
  {
    name: 'schema bad regex',
    body: Buffer.from('{"type":"object","properties":{"a":{"type":"string","pattern":"(a+)+$"}}}'),
  },
  {
    name: 'schema invalid regex',
    body: Buffer.from('{"type":"object","properties":{"a":{"type":"string","pattern":"(["}}}'),
  },
  {
    name: 'schema recursive',
    body: Buffer.from('{"$id":"x","type":"object","properties":{"a":{"$ref":"#"}}}'),
  },
  { name: 'schema not object', body: Buffer.from('{"type":42}') },
]

/** Content types, including ones no route accepts and malformed ones. */
export const CONTENT_TYPES: readonly (string | undefined)[] = [
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/vnd.segment+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  'application/json, text/plain',
  'json',
  ';;;',
  '',
]
