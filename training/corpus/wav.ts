/**
 * Reading and writing 16-bit PCM WAV files, the corpus's clip format.
 * @module
 */

/** Decoded PCM audio: one Float32Array per channel, samples in [-1, 1]. */
export interface PcmAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/**
 * Parses a RIFF/WAVE file holding 16-bit integer or 32-bit float PCM.
 *
 * @param bytes The file.
 * @returns The audio, one array per channel.
 * @throws {RangeError} When the bytes are not such a WAV file.
 */
export function parseWav(bytes: Uint8Array): PcmAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(...bytes.subarray(o, o + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new RangeError("Not a WAV file");
  let offset = 12;
  let format = 0, channels = 0, sampleRate = 0, bits = 0;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE sub-format
    } else if (id === "data") {
      if (channels === 0) throw new RangeError("WAV data before its fmt chunk");
      const end = Math.min(bytes.length, body + size);
      const bytesPer = bits / 8;
      const frames = Math.floor((end - body) / (bytesPer * channels));
      const out = Array.from({ length: channels }, () => new Float32Array(frames));
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < channels; c++) {
          const o = body + (i * channels + c) * bytesPer;
          const v = format === 3 && bits === 32
            ? view.getFloat32(o, true)
            : format === 1 && bits === 16
            ? view.getInt16(o, true) / 32768
            : Number.NaN;
          if (Number.isNaN(v)) throw new RangeError(`Unsupported WAV format ${format}/${bits} bit`);
          out[c]![i] = v;
        }
      }
      return { sampleRate, channels: out };
    }
    offset = body + size + (size % 2);
  }
  throw new RangeError("WAV file has no data chunk");
}

/**
 * Encodes audio as a 16-bit PCM WAV file (samples clipped to [-1, 1], rounded).
 *
 * @param audio The audio; all channels must have the same length.
 * @returns The file's bytes.
 * @example
 * ```ts
 * import { encodeWav16, parseWav } from "./wav.ts";
 * const wav = encodeWav16({ sampleRate: 8000, channels: [new Float32Array([0, 0.5, -0.5])] });
 * console.assert(parseWav(wav).channels[0]!.length === 3);
 * ```
 */
export function encodeWav16(audio: PcmAudio): Uint8Array {
  const nch = audio.channels.length;
  const frames = audio.channels[0]?.length ?? 0;
  const dataSize = frames * nch * 2;
  const out = new Uint8Array(44 + dataSize);
  const view = new DataView(out.buffer);
  const writeTag = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i);
  };
  writeTag(0, "RIFF");
  view.setUint32(4, 36 + dataSize, true);
  writeTag(8, "WAVE");
  writeTag(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, nch, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * nch * 2, true);
  view.setUint16(32, nch * 2, true);
  view.setUint16(34, 16, true);
  writeTag(36, "data");
  view.setUint32(40, dataSize, true);
  let o = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const v = Math.max(-1, Math.min(1, audio.channels[c]![i] ?? 0));
      view.setInt16(o, Math.round(v * 32767), true);
      o += 2;
    }
  }
  return out;
}
