/**
 * Mixtures of real training clips: more real audio for distillation. A teacher labels anything, so the
 * sum of two recordings by different artists is a new training clip with its own soft labels and
 * embedding (`deno task teacher-targets --folder <mixtures>`), given to `deno task distill --extra`.
 *
 * Only the training split's clips are mixed: the caller passes them, and {@linkcode writeMixtures}
 * refuses a reserved mood clip. Each mixture is written as 16 kHz mono 16-bit WAV under a git-ignored
 * folder (third-party audio is never committed), with `mixtures.json` naming both sources and the gain.
 * @module
 */
import { join } from "node:path";
import {
  applyGainDb,
  decodeAudio,
  limit,
  type ProgressReporter,
  rmsDbfs,
  writeFileAtomic,
} from "../../core/mod.ts";
import { encodeWav16 } from "../corpus/wav.ts";
import { isReservedMoodClip } from "../datasets/mod.ts";
import type { DatasetItem } from "../datasets/types.ts";
import { seededRandom } from "../split.ts";

/** Sample rate of the written mixtures (the students' and the teachers' own). */
export const MIXTURE_SAMPLE_RATE = 16_000;

/** RMS level of every mixture, in dBFS (before the limiter). */
const MIXTURE_LEVEL_DBFS = -20;

/** One written mixture. */
export interface MixtureRecord {
  /** File name inside the output folder. */
  file: string;
  /** Track ids of the two sources. */
  a: string;
  b: string;
  /** Level of `b` relative to `a` after both were brought to the same RMS, in dB. */
  gainDb: number;
  seconds: number;
}

/** What `mixtures.json` holds. */
export interface MixtureManifest {
  formatVersion: 1;
  seed: number;
  /** Where the sources come from (the mood set's provenance, the split). */
  source: Record<string, unknown>;
  /** Source clips available to mix. */
  clips: number;
  mixtures: MixtureRecord[];
}

/** The file that describes a mixtures folder. */
export const MIXTURE_MANIFEST = "mixtures.json";

/**
 * A mixtures folder's `mixtures.json`, or `undefined` when the folder has none (not a mixtures folder).
 *
 * @param dir The folder.
 * @returns The manifest.
 */
export async function readMixtureManifest(dir: string): Promise<MixtureManifest | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, MIXTURE_MANIFEST))) as MixtureManifest;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * `count` distinct unordered pairs of items whose groups (artists) differ, drawn with a seeded random
 * stream.
 *
 * @param items The clips to pair.
 * @param count Pairs wanted.
 * @param seed Random seed.
 * @returns Index pairs `[i, j]`, `i < j`.
 * @throws {RangeError} When fewer than `count` such pairs exist.
 */
export function pickPairs(items: readonly DatasetItem[], count: number, seed: number): [number, number][] {
  const n = items.length;
  let possible = 0;
  for (let i = 0; i < n && possible < count; i++) {
    for (let j = i + 1; j < n; j++) if (items[i]!.group !== items[j]!.group) possible++;
  }
  if (possible < count) {
    throw new RangeError(`Only ${possible} pairs of clips by different artists: ${count} mixtures asked for`);
  }
  const random = seededRandom(seed);
  const seen = new Set<string>();
  const pairs: [number, number][] = [];
  while (pairs.length < count) {
    const x = Math.floor(random() * n), y = Math.floor(random() * n);
    const [i, j] = x < y ? [x, y] : [y, x];
    if (i === j || items[i]!.group === items[j]!.group || seen.has(`${i}:${j}`)) continue;
    seen.add(`${i}:${j}`);
    pairs.push([i, j]);
  }
  return pairs;
}

/** The gain in dB that brings `x` to 0 dBFS RMS (digital silence counts as -120 dBFS). */
const toFullScaleDb = (x: Float32Array) => -Math.max(rmsDbfs(x), -120);

/**
 * The sum of two recordings, each first brought to the same RMS, `b` then `gainDb` louder (or quieter);
 * the sum at -20 dBFS RMS through core's look-ahead limiter. As long as the shorter one.
 *
 * @param a Samples of the first recording.
 * @param b Samples of the second, same sample rate.
 * @param gainDb Level of `b` relative to `a`.
 * @param sampleRate Samples per second (for the limiter).
 * @returns The mixture, every sample within [-0.98, 0.98].
 */
export function mixPair(a: Float32Array, b: Float32Array, gainDb: number, sampleRate: number): Float32Array {
  const n = Math.min(a.length, b.length);
  const ka = 10 ** (toFullScaleDb(a.subarray(0, n)) / 20);
  const kb = 10 ** ((gainDb + toFullScaleDb(b.subarray(0, n))) / 20);
  const sum = new Float32Array(n);
  for (let i = 0; i < n; i++) sum[i] = ka * a[i]! + kb * b[i]!;
  return limit(applyGainDb(sum, MIXTURE_LEVEL_DBFS + toFullScaleDb(sum)), { sampleRate });
}

/** Options of {@linkcode writeMixtures}. */
export interface WriteMixturesOptions {
  /** The clips to mix: the training split only. */
  items: readonly DatasetItem[];
  count: number;
  seed: number;
  outDir: string;
  /** Written into `mixtures.json` as the sources' provenance. */
  source: Record<string, unknown>;
  /** Largest level difference between the two sources, in dB (drawn uniformly in ±). @default 6 */
  gainRangeDb?: number;
  /** Longest mixture, in seconds. @default 30 */
  maxSeconds?: number;
  progress?: ProgressReporter;
}

/**
 * Writes `count` mixtures of pairs of `items` by different artists into `outDir`, and `mixtures.json`.
 * Files already there with the same name are rewritten (the same seed gives the same mixtures).
 *
 * @param opts The clips, count, seed and folder.
 * @returns The manifest written.
 * @throws {Error} When a reserved mood clip is among the items.
 */
export async function writeMixtures(opts: WriteMixturesOptions): Promise<MixtureManifest> {
  const reserved = opts.items.filter((it) => isReservedMoodClip(it.path));
  if (reserved.length > 0) {
    throw new Error(`Reserved clips are never mixed: ${reserved.map((it) => it.path).join(", ")}`);
  }
  const pairs = pickPairs(opts.items, opts.count, opts.seed);
  const random = seededRandom(opts.seed + 1);
  const range = opts.gainRangeDb ?? 6;
  await Deno.mkdir(opts.outDir, { recursive: true });
  const records: MixtureRecord[] = [];
  opts.progress?.start(pairs.length, "mixing");
  for (const [k, [i, j]] of pairs.entries()) {
    const [a, b] = [opts.items[i]!, opts.items[j]!];
    const decode = (path: string) =>
      decodeAudio(path, { sampleRate: MIXTURE_SAMPLE_RATE, maxSeconds: opts.maxSeconds ?? 30 });
    const [da, db] = [await decode(a.path), await decode(b.path)];
    const gainDb = Math.round((random() * 2 - 1) * range * 10) / 10;
    const mixed = mixPair(da.samples, db.samples, gainDb, MIXTURE_SAMPLE_RATE);
    const file = `mix-${String(k).padStart(5, "0")}.wav`;
    await writeFileAtomic(
      join(opts.outDir, file),
      encodeWav16({ sampleRate: MIXTURE_SAMPLE_RATE, channels: [mixed] }),
    );
    records.push({ file, a: a.trackId, b: b.trackId, gainDb, seconds: mixed.length / MIXTURE_SAMPLE_RATE });
    opts.progress?.update(k + 1);
  }
  opts.progress?.stop();
  const manifest: MixtureManifest = {
    formatVersion: 1,
    seed: opts.seed,
    source: opts.source,
    clips: opts.items.length,
    mixtures: records,
  };
  await writeFileAtomic(join(opts.outDir, MIXTURE_MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}
