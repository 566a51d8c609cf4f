/**
 * A tiny growable byte writer and its reader: unsigned LEB128 varints, zig-zag signed varints and float64.
 * The sketches serialise with it, so a rollup row stays a few bytes when a bucket holds few values.
 */
export class ByteWriter {
  #buf = new Uint8Array(64)
  #len = 0

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return
    let size = this.#buf.length * 2
    while (size < this.#len + extra) size *= 2
    const next = new Uint8Array(size)
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
  }

  byte(value: number): void {
    this.#ensure(1)
    this.#buf[this.#len++] = value & 0xff
  }

  /** Unsigned integer up to 2^53. */
  varint(value: number): void {
    this.#ensure(8)
    let v = value
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.#buf[this.#len++] = v
  }

  /** Signed integer (zig-zag), |value| < 2^52. */
  zigzag(value: number): void {
    this.varint(value < 0 ? -2 * value - 1 : 2 * value)
  }

  float64(value: number): void {
    this.#ensure(8)
    new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#len, 8).setFloat64(0, value, true)
    this.#len += 8
  }

  bytes(value: Uint8Array): void {
    this.#ensure(value.length)
    this.#buf.set(value, this.#len)
    this.#len += value.length
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len)
  }
}

export class ByteReader {
  readonly #buf: Uint8Array
  #pos = 0

  constructor(buf: Uint8Array) {
    this.#buf = buf
  }

  get done(): boolean {
    return this.#pos >= this.#buf.length
  }

  byte(): number {
    if (this.#pos >= this.#buf.length) throw new RangeError('sketch blob is truncated')
    return this.#buf[this.#pos++]
  }

  varint(): number {
    let result = 0
    let scale = 1
    for (;;) {
      const b = this.byte()
      result += (b & 0x7f) * scale
      if (b < 0x80) return result
      scale *= 0x80
    }
  }

  zigzag(): number {
    const v = this.varint()
    return v % 2 === 1 ? -(v + 1) / 2 : v / 2
  }

  float64(): number {
    if (this.#pos + 8 > this.#buf.length) throw new RangeError('sketch blob is truncated')
    const v = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#pos, 8).getFloat64(0, true)
    this.#pos += 8
    return v
  }

  bytes(length: number): Uint8Array {
    if (this.#pos + length > this.#buf.length) throw new RangeError('sketch blob is truncated')
    const out = this.#buf.subarray(this.#pos, this.#pos + length)
    this.#pos += length
    return out
  }
}
