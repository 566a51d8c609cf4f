// Builds the browser tracker into sdk/browser/dist: tally.mjs (ESM, for bundlers) and tally.js (IIFE, for a
// script tag), web-vitals bundled in both. Prints min+gzip sizes and fails when the script-tag build reaches
// the 6 KB budget. Run: node sdk/browser/build.mjs
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, 'dist')
/** Budget of the script-tag build, min+gzip, web-vitals included. */
export const SCRIPT_BUDGET_BYTES = 6 * 1024

const common = {
  bundle: true,
  minify: true,
  target: 'es2022',
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
}

const outputs = [
  { file: 'tally.js', entry: 'src/script.ts', format: 'iife', budget: SCRIPT_BUDGET_BYTES },
  { file: 'tally.mjs', entry: 'src/index.ts', format: 'esm' },
]

mkdirSync(dist, { recursive: true })
const sizes = {}
let failed = false
for (const out of outputs) {
  const result = await build({ ...common, entryPoints: [join(here, out.entry)], format: out.format })
  const code = result.outputFiles[0].contents
  writeFileSync(join(dist, out.file), code)
  const gzip = gzipSync(code, { level: 9 }).length
  sizes[out.file] = { minBytes: code.length, gzipBytes: gzip }
  const over = out.budget !== undefined && gzip >= out.budget
  failed ||= over
  console.log(
    `sdk/browser/dist/${out.file}: ${(code.length / 1024).toFixed(2)} KB min, ${(gzip / 1024).toFixed(2)} KB min+gzip` +
      (out.budget ? ` (budget < ${out.budget / 1024} KB${over ? ': OVER' : ''})` : ''),
  )
}
writeFileSync(join(dist, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`)
if (failed) {
  console.error('The script-tag build is over its size budget')
  process.exit(1)
}
