import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { SDK_VERSION } from '../src/index.js'

const packageDir = join(import.meta.dirname, '..')
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'))
const out = mkdtempSync(join(tmpdir(), 'tally-node-build-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  )
}

describe('@tally/node package', () => {
  it('should report the package version in context.library', () => {
    expect(manifest.name).toBe('@tally/node')
    expect(SDK_VERSION).toBe(manifest.version)
  })

  it('should build (tsc -p sdk/node) into JS and .d.ts that need nothing outside the package', async () => {
    const tsc = join(packageDir, '../../node_modules/typescript/bin/tsc')
    execFileSync(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.json'), '--outDir', out])
    const emitted = files(out).map((f) => relative(out, f))
    const entry = manifest.exports['.']
    expect(emitted).toContain(relative('dist', entry.default))
    expect(emitted).toContain(relative('dist', entry.types))
    expect(emitted.some((f) => f.includes('test'))).toBe(false)
    // Relative imports stay inside the build (the server's src/ is not part of the package).
    for (const file of emitted) {
      const text = readFileSync(join(out, file), 'utf8')
      for (const [, spec] of text.matchAll(/from '(\.[^']+)'/g)) {
        expect(relative(out, join(out, file, '..', spec)).startsWith('..'), `${file} imports ${spec}`).toBe(
          false,
        )
      }
    }
    const built = await import(pathToFileURL(join(out, relative('dist', entry.default))).href)
    expect(Object.keys(built).sort()).toEqual(Object.keys(await import('../src/index.js')).sort())
  }, 60_000)
})
