/**
 * `npm run bench`: the default (short) run of every throughput benchmark, one after the other so they never
 * share the machine. Each prints its own baseline from the same run; figures go into BENCHMARKS.md.
 * Long runs (1M/10M rows, PostgreSQL variants) are documented in each file's header.
 */
import { spawnSync } from 'node:child_process'

const BENCHES = ['validate', 'pipeline', 'store', 'stats', 'http', 'sdk-middleware']

let failed = 0
for (const name of BENCHES) {
  console.log(`\n━━━ bench/${name}.ts ━━━`)
  const run = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`], { stdio: 'inherit' })
  if (run.status !== 0) {
    failed++
    console.error(`bench/${name}.ts exited with ${run.status ?? run.signal}`)
  }
}
process.exit(failed === 0 ? 0 : 1)
