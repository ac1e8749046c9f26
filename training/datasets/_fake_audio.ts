/**
 * Test factories: small 16-bit PCM WAV files (tones, noise, broken files) and fake dataset trees in
 * the published layouts. Pure TypeScript, so building a fixture spawns nothing.
 * @module
 */
import { dirname, join } from "node:path";

/** What to write into a fake WAV file. */
export interface ToneSpec {
  seconds: number;
  /** Sine frequency in Hz; 0 gives seeded white noise. @default 440 */
  freq?: number;
  /** @default 16000 */
  sampleRate?: number;
  /** Peak level in [0, 1]. @default 0.5 */
  amplitude?: number;
  /** Seed of the noise. @default 1 */
  seed?: number;
}

/**
 * Encodes a mono 16-bit PCM WAV.
 *
 * @param spec Length, frequency, rate, level.
 * @returns The file's bytes.
 */
export function toneWav(spec: ToneSpec): Uint8Array {
  const rate = spec.sampleRate ?? 16000, freq = spec.freq ?? 440, amp = spec.amplitude ?? 0.5;
  const n = Math.round(spec.seconds * rate);
  const buf = new ArrayBuffer(44 + n * 2);
  const v = new DataView(buf);
  const str = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  str(0, "RIFF");
  v.setUint32(4, 36 + n * 2, true);
  str(8, "WAVE");
  str(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, "data");
  v.setUint32(40, n * 2, true);
  let s = (spec.seed ?? 1) >>> 0;
  for (let i = 0; i < n; i++) {
    let x: number;
    if (freq > 0) x = Math.sin((2 * Math.PI * freq * i) / rate);
    else {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      x = s / 2147483648 - 1;
    }
    v.setInt16(44 + i * 2, Math.round(x * amp * 32767), true);
  }
  return new Uint8Array(buf);
}

/** Writes a fake WAV (creating folders). */
export async function writeTone(path: string, spec: ToneSpec): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, toneWav(spec));
}

/** Writes bytes that are not audio (a corrupt file as in GTZAN's `jazz.00054.wav`). */
export async function writeGarbage(path: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, new TextEncoder().encode("this is not a RIFF file at all, sorry".repeat(20)));
}

/** A fresh temporary folder, removed by the returned disposer. */
export async function tempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/**
 * Writes a folder-per-class dataset: `n` files per class, each class a distinct tone (class index i
 * gets 300·(i+1) Hz, class "noise" gets noise).
 *
 * @param root Folder to fill.
 * @param classes Class folder names.
 * @param n Files per class.
 * @param seconds Length of each file.
 * @param sampleRate Sample rate. @default 16000
 */
export async function writeFolderDataset(
  root: string,
  classes: readonly string[],
  n: number,
  seconds: number,
  sampleRate = 16000,
): Promise<void> {
  for (const [i, c] of classes.entries()) {
    for (let k = 0; k < n; k++) {
      const freq = c === "noise" ? 0 : 300 * (i + 1) * (1 + 0.03 * k);
      await writeTone(join(root, c, `clip${k}.wav`), {
        seconds,
        freq,
        sampleRate,
        seed: k + 1,
        amplitude: 0.3 + 0.05 * k,
      });
    }
  }
}
