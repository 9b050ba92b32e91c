/**
 * Decodes byte ranges into strings, keeping the last one: a stream of messages naming one group decodes (and
 * allocates) its name once, not per message. The same bytes always give the same string, so the result is
 * unchanged; a range longer than `bytesMax` is decoded every time.
 */
export class LastDecoded {
  private readonly bytes: Uint8Array;
  private length = -1;
  private text = '';

  /** `decode` turns bytes into the string (it may throw: nothing is kept then). */
  constructor(
    bytesMax: number,
    private readonly decodeBytes: (bytes: Uint8Array) => string,
  ) {
    this.bytes = new Uint8Array(bytesMax);
  }

  /** The string of `bytes[start, end)`. */
  decode(bytes: Uint8Array, start: number, end: number): string {
    const length = end - start;
    if (length === this.length && this.holds(bytes, start)) return this.text;
    const range = bytes.subarray(start, end);
    const text = this.decodeBytes(range);
    if (length <= this.bytes.length) {
      this.bytes.set(range);
      this.length = length;
      this.text = text;
    }
    return text;
  }

  private holds(bytes: Uint8Array, start: number): boolean {
    for (let i = 0; i < this.length; i++) if (bytes[start + i] !== this.bytes[i]) return false;
    return true;
  }
}
