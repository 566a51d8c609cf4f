import { createWriteStream, fstatSync, type WriteStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import type { CliIo } from './cli-io.js'
import { usageError } from './command-context.js'

/** The files of `tally import`: the input (a file or stdin), the --errors output, and byte counting. */

/** Counts bytes as they pass, for progress and ETA. */
export async function* counted(
  source: AsyncIterable<Buffer>,
  counter: { bytes: number },
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    counter.bytes += chunk.length
    yield chunk
  }
}

/** The input of `tally import`: a stream, its size when known, and which file it is (not for stdin). */
export interface ImportInput {
  stream: Readable
  size: number | null
  file?: { dev: number; ino: number }
}

export async function openInput(file: string, io: CliIo): Promise<ImportInput> {
  if (file === '-') return { stream: io.stdin, size: null, file: stdinFile(io) }
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(file, 'r')
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const stat = await handle.stat()
  if (stat.isDirectory()) {
    await handle.close()
    throw usageError(`cannot read ${file}: it is a directory`)
  }
  return {
    stream: handle.createReadStream({ highWaterMark: 256 * 1024 }),
    size: stat.size,
    file: { dev: stat.dev, ino: stat.ino },
  }
}

/** Which file stdin is, when the shell redirected one into it (`< events.ndjson`). */
function stdinFile(io: CliIo): { dev: number; ino: number } | undefined {
  if (io.stdin !== process.stdin) return undefined
  try {
    const st = fstatSync(0)
    return st.isFile() ? { dev: st.dev, ino: st.ino } : undefined
  } catch {
    return undefined
  }
}

/**
 * Opens (truncates) the --errors file. Refuses the input file itself under any name: `--errors` naming it
 * emptied the input before a line was read, and the import then reported 0 events and exited 0.
 */
export async function openErrorsFile(path: string, input: ImportInput): Promise<WriteStream> {
  const existing = await stat(path).catch(() => undefined)
  if (existing !== undefined && input.file !== undefined) {
    if (existing.dev === input.file.dev && existing.ino === input.file.ino) {
      throw usageError(`--errors ${path} is the input file: name another file for the errors`)
    }
  }
  const stream = createWriteStream(path, { flags: 'w' })
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve())
    stream.once('error', (err: NodeJS.ErrnoException) =>
      reject(usageError(`cannot write --errors ${path}: ${err.code ?? err.message}`)),
    )
  })
  return stream
}

export function closeStream(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())))
}
