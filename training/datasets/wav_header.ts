/**
 * A cheap WAV header reader: enough to reject empty or corrupt `.wav` files and to know a file's
 * duration without decoding it (the instrument dataset keeps only files of at least 10 s). Other
 * formats are left to the decoder.
 * @module
 */

/** What a RIFF/WAVE header says. */
export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Duration from the `data` chunk's size. */
  seconds: number;
}

/** Bytes read from the start of the file: headers with a few metadata chunks fit. */
const HEAD_BYTES = 64 * 1024;

/**
 * Parses the header of a WAV file.
 *
 * @param path The file.
 * @returns The format and duration, or a string saying why the header is unusable.
 */
export async function readWavInfo(path: string): Promise<WavInfo | string> {
  let head: Uint8Array;
  let size: number;
  {
    using file = await Deno.open(path, { read: true });
    size = (await file.stat()).size;
    head = new Uint8Array(Math.min(HEAD_BYTES, size));
    let off = 0;
    while (off < head.length) {
      const n = await file.read(head.subarray(off));
      if (n === null) break;
      off += n;
    }
    head = head.subarray(0, off);
  }
  return parseWavHeader(head, size);
}

/**
 * Parses a WAV header from the first bytes of a file.
 *
 * @param head The first bytes (the `fmt ` and the start of the `data` chunk must be inside).
 * @param fileSize The whole file's size, to clip a `data` size that runs past the end.
 * @returns The format and duration, or a string saying why the header is unusable.
 */
export function parseWavHeader(head: Uint8Array, fileSize: number): WavInfo | string {
  if (fileSize === 0) return "empty file";
  if (head.length < 12) return "too short for a WAV header";
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const tag = (at: number) => String.fromCharCode(...head.subarray(at, at + 4));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") return "not a RIFF/WAVE file";
  let fmt: { channels: number; sampleRate: number; byteRate: number; bits: number } | undefined;
  let at = 12;
  while (at + 8 <= head.length) {
    const id = tag(at);
    const len = view.getUint32(at + 4, true);
    if (id === "fmt ") {
      if (at + 24 > head.length) return "truncated fmt chunk";
      fmt = {
        channels: view.getUint16(at + 10, true),
        sampleRate: view.getUint32(at + 12, true),
        byteRate: view.getUint32(at + 16, true),
        bits: view.getUint16(at + 22, true),
      };
    } else if (id === "data") {
      if (fmt === undefined) return "data chunk before the fmt chunk";
      if (fmt.channels === 0 || fmt.sampleRate === 0 || fmt.byteRate === 0) return "invalid fmt chunk";
      const bytes = Math.min(len, fileSize - at - 8);
      if (bytes <= 0) return "no audio data";
      return {
        sampleRate: fmt.sampleRate,
        channels: fmt.channels,
        bitsPerSample: fmt.bits,
        seconds: bytes / fmt.byteRate,
      };
    }
    at += 8 + len + (len % 2);
  }
  return fmt === undefined ? "no fmt chunk" : "no data chunk in the header";
}
